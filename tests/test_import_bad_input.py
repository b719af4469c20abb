"""Bad files get a clear error, a non-zero exit, and write nothing."""

import zipfile

import pytest
from sqlalchemy import func, select

from gis.areas.readers import read_dataset
from gis.errors import Invalid, TooLarge
from gis.models import Area, ImportBatch
from tests.files import town_cells, write_shapefile, zip_shapefile


@pytest.fixture
def shp(tmp_path):
    (tmp_path / "src").mkdir()
    return write_shapefile(town_cells(), tmp_path / "src" / "grids.shp")


def test_empty_file(tmp_path):
    (tmp_path / "empty.geojson").write_bytes(b"")
    with pytest.raises(Invalid, match=r"empty.geojson is empty"):
        read_dataset(tmp_path / "empty.geojson")


def test_unknown_file_type(tmp_path):
    (tmp_path / "grids.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(Invalid, match=r"not .xlsx"):
        read_dataset(tmp_path / "grids.xlsx")


def test_zip_without_a_shapefile(tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(Invalid, match=r"holds no .shp file"):
        read_dataset(tmp_path / "a.zip")


def test_not_a_zip(tmp_path):
    (tmp_path / "b.zip").write_bytes(b"this is not a zip")
    with pytest.raises(Invalid, match="not a readable zip"):
        read_dataset(tmp_path / "b.zip")


@pytest.mark.parametrize("missing", [".dbf", ".shx"])
def test_shp_without_its_side_cars(shp, missing):
    shp.with_suffix(missing).unlink()
    with pytest.raises(Invalid, match=f"without its {missing} file"):
        read_dataset(shp)


def test_zipped_shapefile_missing_dbf(shp, tmp_path):
    with pytest.raises(Invalid, match=r"without its .dbf"):
        read_dataset(zip_shapefile(shp, tmp_path / "nodbf.zip", skip={".dbf"}))


def test_zipped_shapefile_reads(shp, tmp_path):
    dataset = read_dataset(zip_shapefile(shp, tmp_path / "ok.zip"))
    assert len(dataset.frame) == 4 and dataset.frame["name"][0] == "一号网格"


def test_zip_with_parent_paths_is_refused(shp, tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.write(shp, "../../etc/grids.shp")
    with pytest.raises(Invalid, match="unsafe path"):
        read_dataset(tmp_path / "evil.zip")
    assert not (tmp_path.parent.parent / "etc" / "grids.shp").exists()


def test_zip_bomb_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("grids.shp", b"\0" * (50 * 1024 * 1024))  # 50 MB of zeros → ~50 kB
    with pytest.raises(TooLarge, match="zip bomb"):
        read_dataset(tmp_path / "bomb.zip")


def test_a_file_that_is_not_spatial(tmp_path):
    (tmp_path / "t.geojson").write_text('{"hello": "world"}')
    with pytest.raises(Invalid, match=r"not a spatial file|no layers|no geometry|could not be read"):
        read_dataset(tmp_path / "t.geojson")


def test_geopackage_table_without_geometry(tmp_path):
    import pandas as pd
    import pyogrio

    path = tmp_path / "t.gpkg"
    pyogrio.write_dataframe(town_cells(), path, layer="grids")
    pyogrio.write_dataframe(pd.DataFrame({"a": [1]}), path, layer="attrs", append=False)
    with pytest.raises(Invalid, match="choose one with --layer"):
        read_dataset(path)
    with pytest.raises(Invalid, match="has no geometry"):
        read_dataset(path, layer="attrs")
    assert len(read_dataset(path, layer="grids").frame) == 4


def test_cli_bad_file_exits_non_zero_and_writes_nothing(runner, session, tmp_path):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    before = session.scalar(select(func.count()).select_from(ImportBatch))
    result = runner.invoke(["import", "grids", str(tmp_path / "a.zip")])
    assert result.exit_code == 1
    assert "holds no .shp file" in result.output and "nothing was written" in result.output
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == before
    assert session.scalar(select(func.count()).select_from(Area)) == 0
