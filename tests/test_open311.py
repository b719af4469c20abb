"""Open311 GeoReport v2: what we serve validates against the official schemas, and a client can
post a request and read it back."""

import json
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.factories import CELL, ORIGIN
from tests.shared import shared_path


def validator(name: str) -> Draft4Validator:
    schemas = shared_path("open311-georeport-v2")
    registry = Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT4))
        for p in schemas.glob("*.json")
        if p.name != "swagger.json"
    )
    return Draft4Validator(json.loads((schemas / name).read_text()), registry=registry)


def post_request(client, user, **extra):
    form = {
        "api_key": user.token,
        "service_code": "0101",
        "lat": ORIGIN[1] + CELL / 2,
        "long": ORIGIN[0] + CELL / 2,
        "description": "井盖破损 broken cover",
        "email": "resident@example.cn",
        **extra,
    }
    return client.post("/open311/v2/requests.json", data=form)


def test_services_validate_and_are_public(client):
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    services = response.get_json()
    validator("services.json").validate(services)
    assert {"service_code": "2301", "metadata": False, "type": "realtime"}.items() <= next(
        s for s in services if s["service_code"] == "2301"
    ).items()
    definition = client.get("/open311/v2/services/2301.json").get_json()
    validator("service-definition.json").validate(definition)
    assert client.get("/open311/v2/services/9999.json").status_code == 404


def test_a_client_posts_a_request_and_reads_it_back(client, town, make_user):
    user = make_user("supervisor")
    response = post_request(client, user)
    assert response.status_code == 200
    [created] = response.get_json()
    request_id, token = created["service_request_id"], created["token"]
    assert isinstance(request_id, str)
    [read] = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
    validator("requests.json").validate([read])
    assert read["status"] == "open" and read["service_code"] == "0101"
    assert read["description"] == "井盖破损 broken cover"
    assert read["lat"] == pytest.approx(ORIGIN[1] + CELL / 2)
    assert client.get(f"/open311/v2/tokens/{token}.json").get_json() == [
        {"service_request_id": request_id, "token": token}
    ]
    listed = client.get("/open311/v2/requests.json?status=open&service_code=0101").get_json()
    validator("requests.json").validate(listed)
    assert request_id in [r["service_request_id"] for r in listed]
    assert client.get("/open311/v2/requests.json?status=closed").get_json() == []


def test_post_without_or_with_a_bad_api_key_is_403(client, town):
    response = client.post(
        "/open311/v2/requests.json", data={"service_code": "0101", "lat": 44.3, "long": 84.9}
    )
    assert response.status_code == 403
    assert response.get_json()[0]["code"] == 403
    response = client.post("/open311/v2/requests.json", data={"api_key": "nope", "service_code": "0101"})
    assert response.status_code == 403


def test_bad_requests_are_400_with_the_spec_error_shape(client, town, make_user):
    user = make_user()
    response = post_request(client, user, lat="", long="")
    assert response.status_code == 400
    assert "lat and long" in response.get_json()[0]["description"]
    assert post_request(client, user, lat=0, long=0).status_code == 400
    assert post_request(client, user, service_code="9999").status_code == 404
    assert client.get("/open311/v2/requests/999999.json").status_code == 404
    assert client.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400


def test_xml_is_served_too(client, town, make_user):
    request_id = post_request(client, make_user()).get_json()[0]["service_request_id"]
    response = client.get(f"/open311/v2/requests/{request_id}.xml")
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == request_id
    services = ET.fromstring(client.get("/open311/v2/services.xml").data)
    assert services.tag == "services" and len(services.findall("service")) > 30


def test_closed_states_map_to_closed(client, session, town, make_user):
    from gis.cases.intake import submit_report
    from gis.cases.lifecycle import act

    report = submit_report(
        session, lon=ORIGIN[0] + CELL / 2, lat=ORIGIN[1] + CELL / 2, category="0101"
    ).report(session)
    dispatcher = make_user("dispatcher")
    act(session, report, dispatcher, "void", version=report.version, note="重复")
    [read] = client.get(f"/open311/v2/requests/{report.id}.json").get_json()
    assert read["status"] == "closed" and read["status_notes"] is None  # notes stay with staff
    [read] = client.get(f"/open311/v2/requests/{report.id}.json?api_key={dispatcher.token}").get_json()
    assert read["status"] == "closed" and read["status_notes"] == "重复"
