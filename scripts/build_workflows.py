#!/usr/bin/env python3
"""Write the shipped workflows ``resources/models/*.model3`` from their definition here.

The graphical models are built with the Processing model API (so every child parameter is checked
against the algorithm it feeds) and saved as .model3 files, which the provider registers and the
model designer opens. Run: ``QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/build_workflows.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "resources" / "models"


def _child(model, child_id: str, algorithm: str, description: str, x: float, sources: dict, outputs=()):
    """Add a child algorithm; ``sources`` maps parameter -> ('param', name) | ('child', id, output) | ('value', v)
    | ('expression', text); ``outputs``: (child output, model output name = the layer's name, description).

    Every other mandatory parameter gets its default as a fixed value, as the model designer fills
    them in: without, the model is invalid ("Parameter ... is mandatory") and shows red.
    """
    from qgis.core import (
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelOutput,
    )
    from qgis.core import (
        QgsProcessingModelChildParameterSource as Source,
    )
    from qgis.PyQt.QtCore import QPointF

    child = QgsProcessingModelChildAlgorithm(algorithm)
    child.setChildId(child_id)
    child.setDescription(description)
    child.setPosition(QPointF(x, 300))
    makers = {"param": Source.fromModelParameter, "child": Source.fromChildOutput, "value": Source.fromStaticValue,
              "expression": Source.fromExpression}
    for name, (kind, *rest) in sources.items():
        child.addParameterSources(name, [makers[kind](*rest)])
    _fill_defaults(child)
    model_outputs = {}
    for child_output, name, text in outputs:
        output = QgsProcessingModelOutput(name, text)
        output.setChildId(child_id)
        output.setChildOutputName(child_output)
        output.setPosition(QPointF(x + 40, 420 + 40 * len(model_outputs)))
        model_outputs[name] = output
    child.setModelOutputs(model_outputs)
    model.addChildAlgorithm(child)


def _fill_defaults(child) -> None:
    """Give every mandatory input of ``child`` without a source its default value (fails without a default)."""
    from qgis.core import QgsProcessingModelChildParameterSource as Source
    from qgis.core import QgsProcessingParameterDefinition

    for definition in child.algorithm().parameterDefinitions():
        optional = definition.flags() & QgsProcessingParameterDefinition.FlagOptional
        if definition.isDestination() or optional or definition.name() in child.parameterSources():
            continue
        if definition.defaultValue() is None:
            sys.exit(f"{child.childId()}: give {definition.name()} a value (it is mandatory and has no default)")
        child.addParameterSources(definition.name(), [Source.fromStaticValue(definition.defaultValue())])


def _inputs(model, parameters) -> None:
    """Add the model's inputs in the order the dialog shows them."""
    from qgis.core import QgsProcessingModelParameter
    from qgis.PyQt.QtCore import QPointF

    for i, parameter in enumerate(parameters):
        component = QgsProcessingModelParameter(parameter.name())
        component.setPosition(QPointF(120 + 200 * (i % 5), 80 + 70 * (i // 5)))
        model.addModelParameter(parameter, component)
    model.setParameterOrder([parameter.name() for parameter in parameters])


#: The score's environmental indicators: the feed's mean (``sensor_mean``, written by the aggregation) and
#: the areas' fields chosen in ENV_FIELDS (a field list in the dialog, where the mean is not yet a field;
#: a list from the dialog, "a;b" text from qgis_process).
SENSOR_AND_AREA_FIELDS = (
    "array_to_string(array_distinct(array_prepend(array_filter(string_to_array("
    "coalesce(try(array_to_string(@ENV_FIELDS, ';')), @ENV_FIELDS, ''), ';'), @element <> ''), 'sensor_mean')), ';')"
)


def sensor_model():
    """Sensor feed -> aggregation per area -> hotspot score -> local hotspots -> report."""
    from qgis.core import (
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingParameterEnum,
        QgsProcessingParameterFeatureSource,
        QgsProcessingParameterField,
        QgsProcessingParameterNumber,
        QgsProcessingParameterString,
    )

    model = QgsProcessingModelAlgorithm("sensorhotspotworkflow", "workflows")
    formats = ["OGC SensorThings API", "openSenseMap", "Sensor.Community", "The Things Network v3",
               "ChirpStack v4", "CSV"]
    _inputs(model, [
        QgsProcessingParameterEnum("FORMAT", "Feed format", formats, defaultValue=5),
        QgsProcessingParameterString("SOURCE", "Feed (URL or file)"),
        QgsProcessingParameterString("PROPERTY", "Observed property (e.g. no2)"),
        QgsProcessingParameterNumber("MIN_VALID", "Lowest valid value (smaller values, e.g. -999, are skipped)",
                                     QgsProcessingParameterNumber.Double, defaultValue=0.0),
        QgsProcessingParameterFeatureSource("AREAS", "Areas with social indicators",
                                            [QgsProcessing.TypeVectorPolygon]),
        QgsProcessingParameterField("ENV_FIELDS", "Further environmental indicators of the areas (the feed's mean "
                                    "is always one)", parentLayerParameterName="AREAS",
                                    type=QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True),
        QgsProcessingParameterField("SOCIAL_FIELDS", "Social indicators", parentLayerParameterName="AREAS",
                                    type=QgsProcessingParameterField.Numeric, allowMultiple=True),
        QgsProcessingParameterField("INVERT_FIELDS", "Indicators where higher is better",
                                    parentLayerParameterName="AREAS", type=QgsProcessingParameterField.Numeric,
                                    allowMultiple=True, optional=True),
        QgsProcessingParameterEnum("METHOD", "Score method", ["Additive", "Multiple-burden count",
                                                              "CalEnviroScreen product"], defaultValue=0),
        QgsProcessingParameterString("TITLE", "Report title", defaultValue="Environmental hotspots"),
    ])
    _child(model, "import", "socialresilience:importsensorfeed", "Import sensor feed", 120, {
        "FORMAT": ("param", "FORMAT"), "SOURCE": ("param", "SOURCE"),
    })
    _child(model, "aggregate", "socialresilience:aggregateobservations", "Aggregate sensor observations", 340, {
        "STATIONS": ("child", "import", "OUTPUT_STATIONS"), "OBSERVATIONS": ("child", "import", "OUTPUT_OBSERVATIONS"),
        "PROPERTY": ("param", "PROPERTY"), "MIN_VALID": ("param", "MIN_VALID"), "PREFIX": ("value", "sensor"),
        "AREAS": ("param", "AREAS"),
    })
    _child(model, "score", "socialresilience:hotspotscore", "Socio-ecological hotspot score", 560, {
        "INPUT": ("child", "aggregate", "OUTPUT_AREAS"), "ENV_FIELDS": ("expression", SENSOR_AND_AREA_FIELDS),
        "SOCIAL_FIELDS": ("param", "SOCIAL_FIELDS"), "INVERT_FIELDS": ("param", "INVERT_FIELDS"),
        "METHOD": ("param", "METHOD"),
    })
    _child(model, "hotspots", "socialresilience:localhotspots", "Local hotspots", 780, {
        "INPUT": ("child", "score", "OUTPUT"), "FIELD": ("value", "score"), "WEIGHTS": ("value", 0),
    }, outputs=[("OUTPUT", "Hotspots", "Hotspots: areas with score, Gi* and Local Moran")])
    _child(model, "report", "socialresilience:report", "Report for decision makers", 1000, {
        "AREAS": ("child", "hotspots", "OUTPUT"), "HOTSPOTS": ("child", "hotspots", "OUTPUT"),
        "STATIONS": ("child", "aggregate", "OUTPUT_STATIONS"), "TITLE": ("param", "TITLE"),
    }, outputs=[("OUTPUT_HTML", "Report", "Report (HTML)")])
    return model


def green_model():
    """OSM file -> walking network -> catchments -> equity by area -> report."""
    from qgis.core import (
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingParameterFeatureSource,
        QgsProcessingParameterField,
        QgsProcessingParameterFile,
        QgsProcessingParameterNumber,
        QgsProcessingParameterString,
    )

    model = QgsProcessingModelAlgorithm("greenaccessworkflow", "workflows")
    _inputs(model, [
        QgsProcessingParameterFile("OSM_FILE", "OpenStreetMap file (.osm, .osm.gz, .osm.pbf)"),
        QgsProcessingParameterFeatureSource("AREAS", "Areas (districts)", [QgsProcessing.TypeVectorPolygon]),
        QgsProcessingParameterField("BURDEN_FIELD", "Burden field of the areas (higher = more burdened)",
                                    parentLayerParameterName="AREAS", type=QgsProcessingParameterField.Numeric,
                                    optional=True),
        QgsProcessingParameterNumber("DISTANCE", "Walking distance (m)", QgsProcessingParameterNumber.Double,
                                     defaultValue=400.0, minValue=1.0),
        QgsProcessingParameterNumber("MIN_AREA_HA", "Minimum green-space area (ha)",
                                     QgsProcessingParameterNumber.Double, defaultValue=2.0, minValue=0.0),
        QgsProcessingParameterString("TITLE", "Report title", defaultValue="Green access"),
    ])
    _child(model, "network", "socialresilience:osmwalknetwork", "Prepare walking network from OpenStreetMap", 120, {
        "INPUT": ("param", "OSM_FILE"),
    })
    network = {name: ("child", "network", f"OUTPUT_{name}")
               for name in ("NETWORK", "BARRIERS", "CROSSINGS", "GREEN_SPACES")}
    _child(model, "catchments", "socialresilience:greenspacecatchments", "Barrier-aware green-space catchments",
           340, {**network, "RESIDENTIAL": ("child", "network", "OUTPUT_BUILDINGS"),
                 "STANDARD": ("value", 0), "DISTANCE": ("param", "DISTANCE"), "MIN_AREA_HA": ("param", "MIN_AREA_HA")},
           outputs=[("OUTPUT_RESIDENTIAL", "Homes with green access", "Homes with green access")])
    _child(model, "equity", "socialresilience:greenequity", "Green access equity by area", 560, {
        "RESIDENTIAL": ("child", "catchments", "OUTPUT_RESIDENTIAL"), "AREAS": ("param", "AREAS"),
        "BURDEN_FIELD": ("param", "BURDEN_FIELD"),
    }, outputs=[("OUTPUT", "Green access by area", "Green access by area")])
    _child(model, "report", "socialresilience:report", "Report for decision makers", 780, {
        "AREAS": ("child", "equity", "OUTPUT"), "RESIDENTIAL": ("child", "catchments", "OUTPUT_RESIDENTIAL"),
        "CATCHMENTS": ("child", "catchments", "OUTPUT_CATCHMENTS"),
        "GREEN_SPACES": ("child", "catchments", "OUTPUT_GREEN_SPACES"),
        "DISTANCE": ("param", "DISTANCE"), "MIN_AREA_HA": ("param", "MIN_AREA_HA"), "TITLE": ("param", "TITLE"),
    }, outputs=[("OUTPUT_HTML", "Report", "Report (HTML)")])
    return model


def main() -> int:
    import argparse

    from qgis.core import QgsApplication

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=MODELS, help="folder for the .model3 files")
    args = parser.parse_args()

    app = QgsApplication([], False)
    app.initQgis()
    plugins = Path(tempfile.mkdtemp(prefix="srt_plugins_"))
    (plugins / "social_resilience").symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(plugins))
    import social_resilience

    plugin = social_resilience.classFactory(None)
    plugin.initProcessing()
    args.output.mkdir(parents=True, exist_ok=True)
    for model in (green_model(), sensor_model()):
        errors = [child.childId() for child in model.childAlgorithms().values() if child.algorithm() is None]
        if errors:
            sys.exit(f"unknown algorithms in {model.name()}: {errors}")
        path = args.output / f"{model.name()}.model3"
        if not model.toFile(str(path)):
            sys.exit(f"could not write {path}")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
