"""Leaflet maps composed with folium, every asset served from /static (pages must work on an
intranet): ``use_local_assets`` swaps folium's CDN links for the copies `make assets` put in
static/vendor, and refuses any asset it does not know.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from folium.elements import JSCSSMixin
from jinja2 import Template

from app.ogc import tile_url_template
from app.security import with_nonce
from gis.i18n import _
from gis.maps.layers import MIN_BUILDING_ZOOM

V = "/static/vendor"
LOCAL_ASSETS = {
    "leaflet": f"{V}/leaflet/leaflet.js",
    "jquery": f"{V}/jquery/jquery.min.js",
    "bootstrap": f"{V}/bootstrap/js/bootstrap.bundle.min.js",
    "awesome_markers": f"{V}/leaflet.awesome-markers/leaflet.awesome-markers.js",
    "leaflet_css": f"{V}/leaflet/leaflet.css",
    "bootstrap_css": f"{V}/bootstrap/css/bootstrap.min.css",
    "awesome_markers_font_css": f"{V}/fontawesome/css/all.min.css",
    "awesome_markers_css": f"{V}/leaflet.awesome-markers/leaflet.awesome-markers.css",
    "markerclusterjs": f"{V}/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": f"{V}/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": f"{V}/leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet-heat.js": f"{V}/leaflet.heat/leaflet-heat.js",
    "vectorgrid": f"{V}/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "gridwatch_map": "/static/js/gridmap.js",
    "gridwatch_live": "/static/js/live.js",
    "gcoord": f"{V}/gcoord/gcoord.global.prod.js",
    "gridwatch_css": "/static/css/gridwatch.css",
    # Bootstrap 3 glyphicons and the marker-rotation CSS: not used by our markers.
    "glyphicons_css": None,
    "awesome_rotate_css": None,
}


def use_local_assets(element) -> None:
    """Point every JS/CSS link of ``element`` and its children at /static (recursively)."""
    for attr in ("default_js", "default_css"):
        links = getattr(element, attr, None)
        if links is None:
            continue
        local = []
        for name, _url in links:
            if name not in LOCAL_ASSETS:
                raise LookupError(
                    f"folium asset {name!r} has no local copy: add it to package.json and LOCAL_ASSETS"
                )
            if LOCAL_ASSETS[name]:
                local.append((name, LOCAL_ASSETS[name]))
        setattr(element, attr, local)
    for child in element._children.values():
        use_local_assets(child)


class GridWatchLayers(JSCSSMixin, MacroElement):
    """Calls ``GridWatch.<function>(map, options)`` from static/js/gridmap.js: the layers that load
    by viewport (grids, pins, tracks), legends and panels."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        GridWatch.{{ this.function }}({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
    """)
    default_js = [
        ("gridwatch_map", LOCAL_ASSETS["gridwatch_map"]),
        ("gridwatch_live", LOCAL_ASSETS["gridwatch_live"]),
        ("markerclusterjs", LOCAL_ASSETS["markerclusterjs"]),
        ("leaflet-heat.js", LOCAL_ASSETS["leaflet-heat.js"]),
        ("vectorgrid", LOCAL_ASSETS["vectorgrid"]),
        ("gcoord", LOCAL_ASSETS["gcoord"]),
    ]
    default_css = [
        ("gridwatch_css", LOCAL_ASSETS["gridwatch_css"]),
        ("markerclustercss", LOCAL_ASSETS["markerclustercss"]),
        ("markerclusterdefaultcss", LOCAL_ASSETS["markerclusterdefaultcss"]),
    ]

    def __init__(self, function: str, **options):
        super().__init__()
        self._name = "GridWatchLayers"
        self.function = function
        self.options = options


def base_map(bounds=None) -> folium.Map:
    """An empty map on the configured basemap (or none), fitted to ``bounds``."""
    config = current_app.config
    fmap = folium.Map(
        tiles=None, control_scale=True, zoom_start=13, prefer_canvas=False, location=[44.33, 84.9]
    )
    if config["BASEMAP_URL"]:
        folium.TileLayer(
            config["BASEMAP_URL"],
            attr=config["BASEMAP_ATTRIBUTION"] or str(_("basemap")),
            name=str(_("Basemap")),
            max_zoom=19,
        ).add_to(fmap)
    if bounds:
        minx, miny, maxx, maxy = bounds
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def supervisor_map(bounds, mine: list[str] = ()) -> folium.Map:
    """The supervisors' map; ``mine``: the grid codes to highlight (a grid worker's own)."""
    fmap = base_map(bounds)
    GridWatchLayers(
        "supervisorMap",
        gridsUrl=url_for("api.areas_layer", level="grid", auto=1),
        reportsUrl=url_for("api.reports_layer"),
        buildingsUrl=url_for("api.buildings_layer"),
        buildingTilesUrl=tile_url_template("buildings"),
        buildingsZoom=MIN_BUILDING_ZOOM,
        gridUrl=url_for("api.grid_detail", code="CODE"),
        caseUrl=url_for("pages.case", report_id=0),
        tracksUrl=url_for("patrols.tracks_layer"),
        coverageUrl=url_for("patrols.coverage"),
        liveUrl=url_for("live.live"),
        unvisitedUrl=url_for("people.unvisited_layer", days=30),
        buildingUrl=url_for("people.building_page", building_id=0),
        networkUrl=url_for("networks.layer"),
        basemapCrs=current_app.config["BASEMAP_CRS"],
        mine=list(mine),
    ).add_to(fmap)
    return fmap


def coverage_map(bounds, shares: dict, params: dict) -> folium.Map:
    """Grids coloured by ``shares`` (code → [area share, street share, minutes]), the window's
    tracks and the streets nobody walked."""
    fmap = base_map(bounds)
    GridWatchLayers(
        "coverageMap",
        gridsUrl=url_for("api.areas_layer", level="grid"),
        tracksUrl=url_for("patrols.tracks_layer"),
        gapsUrl=url_for("patrols.gaps"),
        shares=shares,
        params=params,
        basemapCrs=current_app.config["BASEMAP_CRS"],
    ).add_to(fmap)
    return fmap


def render_parts(fmap: folium.Map) -> dict[str, str]:
    """The map as three strings to place in our own page: head links, the div, the script."""
    use_local_assets(fmap)
    figure = fmap.get_root()
    figure.render()
    return {
        "header": with_nonce(figure.header.render()),
        "html": with_nonce(figure.html.render()),
        "script": figure.script.render(),  # the page puts it in a <script nonce=...> of its own
    }
