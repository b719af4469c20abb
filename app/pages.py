"""Pages for people: the supervisors' map and the front door."""
from flask import Blueprint, redirect, render_template, url_for

from app.database import db
from app.maps import render_parts, supervisor_map
from gis.layers import grids_extent

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    return redirect(url_for("pages.map"))


@bp.get("/map")
def map():
    parts = render_parts(supervisor_map(grids_extent(db())))
    return render_template("map.html", map=parts)
