"""Seed the server's database through its own ORM models (run inside the server's venv).

``python seed.py`` with ``DJANGO_SETTINGS_MODULE=settings`` and ``STA_DB``: migrates, then writes
the Things, Locations, Sensors, ObservedProperties, Datastreams, FeaturesOfInterest and a year of
hourly Observations of ``dataset.py``.
"""

from __future__ import annotations

import dataset
import django
from django.core.management import call_command

BATCH = 5000


def main() -> None:
    django.setup()
    call_command("migrate", verbosity=0)
    from sensorthings.versions.v1_1.backends.django import models as m

    sensor = m.Sensor.objects.create(id=dataset.entity_id("Sensor", "lowcost"), name="Low-cost station",
                                     description="electrochemical NO2 cell and thermistor",
                                     encoding_type=m.Sensor.HTML, metadata="https://example.org/sensor")
    observed = {
        prop.key: m.ObservedProperty.objects.create(
            id=dataset.entity_id("ObservedProperty", prop.key), name=prop.name,
            definition=f"https://example.org/def/{prop.key}", description=prop.name)
        for prop in dataset.PROPERTIES
    }
    for index, seed in enumerate(dataset.THINGS):
        thing = m.Thing.objects.create(id=dataset.thing_id(seed), name=seed.name, description=seed.name,
                                       properties={"city": seed.name.split()[0]})
        point = {"type": "Point", "coordinates": [seed.lon, seed.lat]}
        location = m.Location.objects.create(id=dataset.entity_id("Location", seed.key), name=seed.name,
                                             description=seed.name, location=point)
        location.things.add(thing)
        feature = m.FeatureOfInterest.objects.create(
            id=dataset.entity_id("FeatureOfInterest", seed.key), name=seed.name, description=seed.name,
            encoding_type=m.FeatureOfInterest.GEOJSON, feature=point)
        for prop in dataset.PROPERTIES:
            stream = m.Datastream.objects.create(
                id=dataset.datastream_id(seed, prop), name=f"{seed.name} {prop.name}", description=prop.name,
                unit_of_measurement={"name": prop.unit_name, "symbol": prop.symbol, "definition": ""},
                observation_type=m.Datastream.OM_MEASUREMENT, thing=thing, sensor=sensor,
                observed_property=observed[prop.key])  # no phenomenonTime: 1.2.0 serves only its start and fails
            rows = []
            for hour in range(dataset.HOURS):
                moment = dataset.hour_time(hour)
                rows.append(m.Observation(phenomenon_time_begin=moment, result_time=moment,
                                          result=dataset.value(index, prop, hour), datastream=stream,
                                          feature_of_interest=feature))
            m.Observation.objects.bulk_create(rows, batch_size=BATCH)


if __name__ == "__main__":
    main()
