/* What the phone's forms share (the report page, the visit form): an id made on the phone for
   the outbox, and a photo made small before anything is sent. */
window.GridWatch = window.GridWatch || {};
(function (GW) {
  GW.uuid4 = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  /* A photo made small on the phone: at most 1600 px on its longer side, JPEG, turned upright. */
  GW.shrinkPhoto = async function (file, side = 1600) {
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return await new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.82));
    } catch (e) {
      return file;  // not decodable here: the server says what is wrong with it
    }
  };
})(window.GridWatch);
