"""Reading planners' files as they really arrive: shapefiles (loose or zipped), GeoPackages, GeoJSON.

Refuses, with a message a planner can act on: empty or non-spatial files, a zip without a .shp,
a .shp without its .dbf/.shx, zips with ``../`` paths or that inflate far beyond their size, and
files with no CRS whose coordinates are not plainly longitude/latitude.
Text comes out right without the planner knowing the encoding: .cpg, then the .dbf language
byte, then strict UTF-8, then GB18030.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyogrio
from pyproj import CRS

from gis.errors import Invalid, TooLarge
from gis.i18n import Words, _

SUPPORTED = (".shp", ".zip", ".gpkg", ".geojson", ".json")
MAX_UNZIPPED = 2 * 1024**3  # bytes a zip may inflate to
MAX_ZIP_RATIO = 200  # inflated / compressed, beyond which it is a zip bomb
SIDE_CARS = (".dbf", ".shx")

# .dbf language driver IDs (byte 29) → Python codec; the ones seen in Chinese data first.
LDID_CODECS = {
    0x4D: "gb18030",
    0x7A: "gb18030",  # 936 (GBK); GB18030 is its superset
    0x4F: "big5",
    0x78: "big5",  # 950
    0x4E: "cp949",
    0x79: "cp949",
    0x13: "cp932",
    0x7B: "cp932",
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x57: "cp1252",
    0x58: "cp1252",
    0x59: "cp1252",
    0x64: "cp852",
    0x65: "cp866",
    0x26: "cp866",
    0xC8: "cp1250",
    0xC9: "cp1251",
    0xCA: "cp1254",
    0xCB: "cp1253",
}


@dataclass
class Dataset:
    """What was read, and how we decided to read it (for the validation report)."""

    frame: gpd.GeoDataFrame
    source: str
    layer: str | None = None
    crs: str | None = None
    crs_assumed: bool = False
    encoding: str | None = None
    encoding_source: Words | None = None
    warnings: list[Words] = field(default_factory=list)


def read_dataset(
    path: str | Path,
    layer: str | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    workdir: Path | None = None,
) -> Dataset:
    """Read ``path`` into EPSG:4326-ready form (not yet reprojected: see ``to_wgs84``)."""
    path = Path(path)
    if encoding:
        check_encoding(encoding)
    if not path.exists():
        raise Invalid(_("%(path)s does not exist", path=path))
    if path.stat().st_size == 0:
        raise Invalid(_("%(name)s is empty", name=path.name))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise Invalid(
            _(
                "%(name)s: GridWatch reads %(items)s files, not %(value)s",
                name=path.name,
                items=", ".join(SUPPORTED),
                value=suffix or "this",
            )
        )
    tmp = None
    try:
        if suffix == ".zip":
            tmp = Path(tempfile.mkdtemp(prefix="gridwatch-zip-", dir=workdir))
            path = _shapefile_in_zip(path, tmp)
            suffix = ".shp"
        if suffix == ".shp":
            _check_side_cars(path)
        dataset = _read(path, layer, encoding)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    _settle_crs(dataset, crs)
    return dataset


def _shapefile_in_zip(path: Path, into: Path) -> Path:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise Invalid(_("%(name)s is not a readable zip file", name=path.name)) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for m in members:
            name = PurePosixPath(m.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts:
                raise Invalid(
                    _(
                        "%(name)s holds a file with an unsafe path (%(filename)s): refused",
                        name=path.name,
                        filename=m.filename,
                    )
                )
        inflated = sum(m.file_size for m in members)
        compressed = max(sum(m.compress_size for m in members), 1)
        if inflated > MAX_UNZIPPED or inflated / compressed > MAX_ZIP_RATIO:
            raise TooLarge(
                _(
                    "%(name)s would inflate to %(value)s MB (%(value2)s× its size): refused as a possible "
                    "zip bomb",
                    name=path.name,
                    value=format(inflated / 1024**2, ",.0f"),
                    value2=format(inflated / compressed, ",.0f"),
                )
            )
        shps = [
            m
            for m in members
            if m.filename.lower().endswith(".shp") and not PurePosixPath(m.filename).name.startswith("._")
        ]
        if not shps:
            raise Invalid(
                _(
                    "%(name)s holds no .shp file (it has: %(value)s)",
                    name=path.name,
                    value=", ".join(m.filename for m in members[:8]) or "nothing",
                )
            )
        if len(shps) > 1:
            raise Invalid(
                _(
                    "%(name)s holds %(count)s shapefiles (%(items)s): zip one layer at a time",
                    name=path.name,
                    count=len(shps),
                    items=", ".join(m.filename for m in shps),
                )
            )
        stem = shps[0].filename[:-4]
        for m in members:
            if m.filename[:-4] == stem or m.filename.lower().startswith(stem.lower() + "."):
                target = into / PurePosixPath(m.filename).name
                with archive.open(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        return into / PurePosixPath(shps[0].filename).name


def _sidecar(shp: Path, ext: str) -> Path | None:
    for candidate in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


def _check_side_cars(shp: Path) -> None:
    missing = [ext for ext in SIDE_CARS if _sidecar(shp, ext) is None]
    if missing:
        raise Invalid(
            _(
                "%(name)s came without its %(items)s file%(value)s: a shapefile is several files (.shp, "
                ".shx, .dbf, usually .prj) — send them together, or zipped",
                name=shp.name,
                items=" and ".join(missing),
                value="s" if len(missing) > 1 else "",
            )
        )


def detect_dbf_encoding(shp: Path) -> tuple[str, Words]:
    """(codec, how we know): .cpg, else the language byte, else strict UTF-8, else GB18030."""
    cpg = _sidecar(shp, ".cpg")
    if cpg is not None:
        name = cpg.read_text(errors="ignore").strip()
        if name:
            codec = {"936": "gb18030", "gbk": "gb18030", "gb2312": "gb18030"}.get(name.lower(), name)
            return codec, ".cpg"
    dbf = _sidecar(shp, ".dbf")
    if dbf is None:
        return "utf-8", _("no .dbf")
    data = dbf.read_bytes()
    if len(data) > 32 and data[29] in LDID_CODECS:
        return LDID_CODECS[data[29]], _("dbf language byte")
    header_len = int.from_bytes(data[8:10], "little") if len(data) > 10 else 0
    records = data[header_len:]
    try:
        records.decode("utf-8")
        return "utf-8", _("valid UTF-8")
    except UnicodeDecodeError:
        return "gb18030", _("not UTF-8, read as GB18030")


# The encodings planners' attribute tables come in (any other Python codec is taken too).
KNOWN_ENCODINGS = ("utf-8", "gb18030", "gbk", "gb2312", "big5", "cp1252", "latin-1")


def check_encoding(encoding: str) -> str:
    """``encoding`` if Python knows it; else Invalid listing the usual ones."""
    try:
        codecs.lookup(encoding)
    except (LookupError, ValueError):
        raise Invalid(
            _(
                "unknown encoding %(encoding)s: use one of %(items)s",
                encoding=repr(encoding),
                items=", ".join(KNOWN_ENCODINGS),
            ),
            fields={"encoding": _("unknown")},
        ) from None
    return encoding


def _read(path: Path, layer: str | None, encoding: str | None) -> Dataset:
    dataset_encoding: str | None = None
    encoding_source: Words | None = None
    if path.suffix.lower() == ".shp":
        if encoding:
            dataset_encoding, encoding_source = encoding, "--encoding"
        else:
            dataset_encoding, encoding_source = detect_dbf_encoding(path)
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise Invalid(
            _(
                "%(name)s is not a spatial file GridWatch can read (%(first_line)s)",
                name=path.name,
                first_line=_first_line(exc),
            )
        ) from None
    if len(layers) == 0:
        raise Invalid(_("%(name)s has no layers", name=path.name))
    names = [str(n) for n, _ in layers]
    if layer is None:
        if len(names) > 1:
            raise Invalid(
                _(
                    "%(name)s has %(count)s layers (%(items)s): choose one with --layer",
                    name=path.name,
                    count=len(names),
                    items=", ".join(names),
                )
            )
        layer = names[0]
    elif layer not in names:
        raise Invalid(
            _(
                "%(name)s has no layer %(layer)s (it has %(items)s)",
                name=path.name,
                layer=repr(layer),
                items=", ".join(names),
            )
        )
    geometry_type = {str(n): t for n, t in layers}.get(layer)
    if geometry_type is None:
        raise Invalid(
            _(
                "%(name)s (layer %(layer)s) has no geometry: it is a table, not a map layer",
                name=path.name,
                layer=layer,
            )
        )
    try:
        kwargs = {"encoding": dataset_encoding} if dataset_encoding else {}
        frame = pyogrio.read_dataframe(path, layer=layer, **kwargs)
    except Exception as exc:
        raise Invalid(
            _("%(name)s could not be read (%(first_line)s)", name=path.name, first_line=_first_line(exc))
        ) from None
    if len(frame) == 0:
        raise Invalid(_("%(name)s (layer %(layer)s) has no features", name=path.name, layer=layer))
    dataset = Dataset(
        frame=frame, source=path.name, layer=layer, encoding=dataset_encoding, encoding_source=encoding_source
    )
    if encoding and path.suffix.lower() != ".shp":
        dataset.warnings.append(
            _(
                "the encoding %(encoding)s was not used: it is for a shapefile's .dbf, and this file says "
                "its own",
                encoding=encoding,
            )
        )
    return dataset


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def looks_like_lonlat(bounds) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _settle_crs(dataset: Dataset, crs) -> None:
    frame = dataset.frame
    if crs is not None:
        try:
            chosen = CRS.from_user_input(int(crs) if str(crs).isdigit() else crs)
        except Exception:
            raise Invalid(
                _("--crs %(crs)s: not a coordinate system pyproj knows (try EPSG:4547)", crs=crs)
            ) from None
        if frame.crs is not None and CRS(frame.crs) != chosen:
            dataset.warnings.append(
                _("the file says %(name)s; --crs %(crs)s overrides it", name=CRS(frame.crs).name, crs=crs)
            )
        dataset.frame = frame.set_crs(chosen, allow_override=True)
    elif frame.crs is None:
        bounds = frame.total_bounds
        if looks_like_lonlat(bounds):
            dataset.frame = frame.set_crs(4326)
            dataset.crs_assumed = True
            dataset.warnings.append(
                _(
                    "the file has no .prj: its coordinates look like longitude/latitude, so WGS 84 / "
                    "CGCS2000 was assumed"
                )
            )
        else:
            xs, ys = (f"{bounds[a]:.0f}…{bounds[b]:.0f}" for a, b in ((0, 2), (1, 3)))
            raise Invalid(
                _(
                    "%(source)s has no coordinate system (.prj) and its coordinates (x %(x)s, y %(y)s) "
                    "are not longitude/latitude: %(hint)s",
                    source=dataset.source,
                    x=xs,
                    y=ys,
                    hint=_crs_hint(bounds),
                )
            )
    dataset.crs = CRS(dataset.frame.crs).to_string()


def _crs_hint(bounds):
    """Suggest the Gauss-Krüger zone when eastings carry a zone prefix (EPSG:4513-4533)."""
    minx = bounds[0]
    if 1e7 <= minx < 1e8:
        zone = int(minx // 1e6)
        if 25 <= zone <= 45:
            return _(
                "eastings start with %(zone)s, which suggests CGCS2000 3-degree Gauss-Krüger "
                "zone %(zone)s (--crs EPSG:%(epsg)s)",
                zone=zone,
                epsg=4513 + zone - 25,
            )
        if 13 <= zone <= 23:
            return _(
                "eastings start with %(zone)s, which suggests CGCS2000 6-degree Gauss-Krüger "
                "zone %(zone)s (--crs EPSG:%(epsg)s)",
                zone=zone,
                epsg=4491 + zone - 13,
            )
    return _(
        "give it with --crs, e.g. EPSG:4547 for CGCS2000 3-degree Gauss-Krüger CM 114E "
        "(central meridian 75°E + 3° × (code − 4534))"
    )
