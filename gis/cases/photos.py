"""Photos from phones: decoded safely (a "bomb" is refused from its header), made small and
stripped of their metadata before they are kept, and their GPS position read when asked."""

from __future__ import annotations

import io
import math

from gis.errors import Invalid
from gis.i18n import _

PHOTO_MAX_SIDE = 1600
THUMBNAIL_SIDE = 240


# The largest photo decoded: 64 megapixels (a 50 MP phone camera with room). A file declaring more
# is refused from its header, before any pixel is decoded (a "bomb": 50,000 × 50,000 in 100 KB).
MAX_PIXELS = 64_000_000


def _open_image(data: bytes):
    """The image in ``data``, its header read and its size checked; Invalid when it is none."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise Invalid(_("a photo is not an image we can read (JPEG, PNG or WebP)")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(_("a photo is too large: at most 64 megapixels")) from None
    width, height = image.size
    if width * height > MAX_PIXELS or width <= 0 or height <= 0:
        raise Invalid(
            _(
                "a photo of %(width)s × %(height)s pixels is too large: at most 64 megapixels",
                width=width,
                height=height,
            )
        )
    return image


def resize_photo(data: bytes) -> bytes:
    """A JPEG no larger than PHOTO_MAX_SIDE, oriented by its EXIF, without its metadata."""
    from PIL import Image, ImageOps

    image: Image.Image = _open_image(data)
    try:
        image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))  # a JPEG decodes at a fraction of its size
        image = ImageOps.exif_transpose(image)
        image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Invalid(_("a photo is damaged: it could not be decoded")) from None
    return out.getvalue()


def photo_gps(data: bytes) -> tuple[float, float] | None:
    """(lon, lat) from a photo's EXIF GPS tags, when the camera recorded them and they are a
    position on Earth (Invalid for a file that is no image, or too large a one)."""
    image = _open_image(data)
    try:
        gps = image.getexif().get_ifd(0x8825)
        lat = _dms(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = _dms(gps[4]) * (-1 if gps.get(3) == "W" else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, OSError, SyntaxError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


def _dms(value) -> float:
    d, m, s = (float(v) for v in value)
    return d + m / 60 + s / 3600


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of a kept photo, for lists ("is it one of these?") on a slow network."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (side, side))
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=70, optimize=True)
    return out.getvalue()
