"""Processing algorithm ``socialresilience:createsampletown``: the synthetic sample town as one GeoPackage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputVectorLayer,
)

from ...core.sample_town.town import MAX_SIZE_KM, MIN_SIZE_KM, generate_town, validate_size
from ..base import AlgorithmBase, param
from ..common import check_writable
from ..style_on_load import STYLE_DIR, set_post_processor
from .sample_town_writer import remove_files, write_geopackage, write_observations_csv
from .town_on_load import TownLayerOnLoad

#: Output name -> (layer name in the GeoPackage, layer type).
LAYER_OUTPUTS = {
    "NETWORK": ("network", QgsProcessing.TypeVectorLine),
    "BARRIERS": ("barriers", QgsProcessing.TypeVectorLine),
    "CROSSINGS": ("crossings", QgsProcessing.TypeVectorPoint),
    "GREEN_SPACES": ("green_spaces", QgsProcessing.TypeVectorPolygon),
    "ENTRANCES": ("entrances", QgsProcessing.TypeVectorPoint),
    "BUILDINGS": ("buildings", QgsProcessing.TypeVectorPolygon),
    "PLACES": ("places", QgsProcessing.TypeVectorPoint),
    "TREES": ("trees", QgsProcessing.TypeVectorPoint),
    "CANOPY": ("canopy", QgsProcessing.TypeVectorPolygon),
    "DISTRICTS": ("districts", QgsProcessing.TypeVectorPolygon),
    "STATIONS": ("stations", QgsProcessing.TypeVectorPoint),
    "OBSERVATIONS": ("observations", QgsProcessing.TypeVector),
    "DISTRICT_MONTHS": ("district_months", QgsProcessing.TypeVectorPolygon),
}


class CreateSampleTownAlgorithm(AlgorithmBase):
    """Generate the synthetic sample town (all layers in one GeoPackage)."""

    ALGORITHM_ID = "createsampletown"
    DISPLAY_NAME = "Create sample town"
    GROUP_ID = "sampledata"

    SEED = "SEED"
    SIZE_KM = "SIZE_KM"
    OUTPUT = "OUTPUT"
    OUTPUT_CSV = "OUTPUT_CSV"

    def initAlgorithm(self, config: dict | None = None) -> None:  # noqa: N802, D102
        self.add_parameters(
            param("int", self.SEED, self.tr("Random seed"), defaultValue=42),
            param("double", self.SIZE_KM, self.tr("Side length of the town (km)"), defaultValue=2.0,
                  minValue=MIN_SIZE_KM, maxValue=MAX_SIZE_KM),
            param("file_out", self.OUTPUT, self.tr("Sample town GeoPackage"),
                  fileFilter=self.tr("GeoPackage (*.gpkg *.GPKG)")),
            param("file_out", self.OUTPUT_CSV, self.tr("Observations as CSV"),
                  fileFilter=self.tr("CSV files (*.csv *.CSV)"), optional=True, createByDefault=False),
        )
        descriptions = self._layer_descriptions()
        for name, description in descriptions.items():
            self.addOutput(QgsProcessingOutputVectorLayer(name, description, LAYER_OUTPUTS[name][1]))

    def _layer_descriptions(self) -> dict[str, str]:
        """Output name -> translated description (also the name of the layer loaded into the project)."""
        return {
            "NETWORK": self.tr("Walking network"),
            "BARRIERS": self.tr("Barriers (arterial roads)"),
            "CROSSINGS": self.tr("Crossings"),
            "GREEN_SPACES": self.tr("Green spaces"),
            "ENTRANCES": self.tr("Green-space entrances"),
            "BUILDINGS": self.tr("Buildings"),
            "PLACES": self.tr("Everyday places"),
            "TREES": self.tr("Trees"),
            "CANOPY": self.tr("Tree canopy"),
            "DISTRICTS": self.tr("Districts"),
            "STATIONS": self.tr("Sensor stations"),
            "OBSERVATIONS": self.tr("Sensor observations"),
            "DISTRICT_MONTHS": self.tr("NO2 per district and month, 2024-2025"),
        }

    def _size_error(self, size_km: float) -> str:
        """Message for an unsupported town size, empty when the size is fine."""
        try:
            validate_size(size_km)
        except ValueError:
            return self.tr(
                "The side length of the town must be between {} and {} km (got {}). Choose a value in that range."
            ).format(f"{MIN_SIZE_KM:g}", f"{MAX_SIZE_KM:g}", f"{size_km:g}")
        return ""

    def checkParameterValues(self, parameters: dict, context: QgsProcessingContext) -> tuple[bool, str]:  # noqa: N802, D102
        error = self._size_error(self.parameterAsDouble(parameters, self.SIZE_KM, context))
        if error:
            return False, error
        return super().checkParameterValues(parameters, context)

    def _destination(self, parameters: dict, name: str, context: QgsProcessingContext, suffix: str) -> str:
        """Destination path of ``name`` ('' when skipped) with ``suffix``, checked to be a writable file path."""
        path = self.parameterAsFileOutput(parameters, name, context) if parameters.get(name) else ""
        if path:
            if Path(path).suffix.lower() != suffix:
                path += suffix
            if Path(path).is_dir():
                raise QgsProcessingException(self.tr("{} is a folder. Give a file name.").format(path))
            check_writable(path)
        return path

    @staticmethod
    def _runs_on_its_own(context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> bool:
        """Tell whether the run loads its layers: yes from the toolbox, a script or qgis_process, not in a model.

        QGIS 3.22 runs a model's children with the model's context but wraps the model's feedback in a
        ``QgsProcessingMultiStepFeedback`` (one step per child; SIP hands it over as a plain
        ``QgsProcessingFeedback``, so ask Qt's meta-object). A model loads only its own outputs.
        """
        in_model = feedback is not None and feedback.inherits("QgsProcessingMultiStepFeedback")
        return context.project() is not None and not in_model

    def _load_styled(self, results: dict[str, Any], context: QgsProcessingContext) -> None:
        """Load the layers into the project with the town's styles, named in the user's language."""
        descriptions = self._layer_descriptions()
        ranks: dict[str, int] = {}  # shared by this run's post-processors, to stack the layers
        for name, (layer, _kind) in LAYER_OUTPUTS.items():
            label = self.tr("Sample town: {}").format(descriptions[name])
            details = QgsProcessingContext.LayerDetails(label, context.project(), name)
            context.addLayerToLoadOnCompletion(results[name], details)
            style = f"sample_town_{layer}.qml"
            post_processor = TownLayerOnLoad(name, style if (STYLE_DIR / style).is_file() else None, ranks)
            set_post_processor(context, results[name], post_processor)

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        seed = self.parameterAsInt(parameters, self.SEED, context)
        size_km = self.parameterAsDouble(parameters, self.SIZE_KM, context)
        error = self._size_error(size_km)
        if error:
            raise QgsProcessingException(error)
        output = self._destination(parameters, self.OUTPUT, context, ".gpkg")
        if not output:
            raise QgsProcessingException(self.tr("No output file given. Choose where to save the GeoPackage."))
        csv_path = self._destination(parameters, self.OUTPUT_CSV, context, ".csv")

        def progress(fraction: float) -> None:
            feedback.setProgress(30.0 * fraction)
            self.check_cancelled(feedback)

        feedback.pushInfo(self.tr("Generating the town (seed {}, {} km)…").format(seed, size_km))
        town = generate_town(seed, size_km, progress)
        subtitle = f"seed {seed}, {size_km:g} km"
        geopackage = write_geopackage(town, output, subtitle, feedback, lambda f: feedback.setProgress(30 + 65 * f))
        staged = [(geopackage, output)]
        target = csv_path or output  # named in the error message
        try:
            if csv_path:
                staged.append((write_observations_csv(town, csv_path, context.transformContext()), csv_path))
            for temporary, target in staged:
                os.replace(temporary, target)
        except OSError as error:
            raise QgsProcessingException(self.tr("Could not save {}: {}").format(target, error)) from error
        finally:
            for temporary, _target in staged:
                remove_files(temporary)
        feedback.setProgress(100)
        results: dict[str, Any] = {self.OUTPUT: output}
        for name, (layer, _kind) in LAYER_OUTPUTS.items():
            results[name] = f"{output}|layername={layer}"
        if self._runs_on_its_own(context, feedback):
            self._load_styled(results, context)
        if csv_path:
            results[self.OUTPUT_CSV] = csv_path
        return results
