"""Dialog to add or edit a live feed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qgis.gui import QgsAuthConfigSelect, QgsFileWidget, QgsProviderConnectionComboBox
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, QLocale, Qt
from qgis.PyQt.QtGui import QDoubleValidator
from qgis.PyQt.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..core.live.feed_config import THRESHOLD_PRESETS, FeedConfig, ThresholdPreset, Thresholds, pollutant_key
from ..core.sensors.formats import FEED_FORMATS, SENSORTHINGS, FeedFormat, feed_format

FORM_CLASS, _ = uic.loadUiType(str(Path(__file__).with_name("feed_dialog.ui")))


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("feed_dialog", text)


def format_tr(text: str) -> str:
    """Translate a name or hint of the feed format table."""
    return QCoreApplication.translate("feed_formats", text)


class FeedDialog(QDialog, FORM_CLASS):
    """Edits a FeedConfig; ``config()`` returns the edited copy after ``accept``."""

    def __init__(self, config: FeedConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setupUi(self)
        self._original = config
        for fmt in FEED_FORMATS:
            self.formatCombo.addItem(format_tr(fmt.name), fmt.number)
        self.transportCombo.addItem(tr("HTTP: poll the URL"), "http")
        self.transportCombo.addItem(tr("MQTT: subscribe to uplinks"), "mqtt")
        self.presetCombo.addItem(tr("Custom"), "")
        for key, preset in THRESHOLD_PRESETS.items():  # short, whole in the field; the guideline as tooltip
            self.presetCombo.addItem(preset_text(preset), key)
            self.presetCombo.setItemData(self.presetCombo.count() - 1, QCoreApplication.translate(
                "feed_config", preset.source), Qt.ItemDataRole.ToolTipRole)
        validator = QDoubleValidator(self)
        validator.setLocale(QLocale.c())
        self.warnEdit.setValidator(validator)
        self.alertEdit.setValidator(validator)
        self.authSelect = QgsAuthConfigSelect(self.authContainer)
        _fill(self.authContainer, self.authSelect)
        self.archiveWidget = QgsFileWidget(self.archiveContainer)
        self.archiveWidget.setStorageMode(QgsFileWidget.SaveFile)
        self.archiveWidget.setFilter(tr("GeoPackage (*.gpkg)"))
        _fill(self.archiveContainer, self.archiveWidget)
        self._add_postgis_archive()
        self._set(config or FeedConfig(name="", format=SENSORTHINGS))
        self.formatCombo.currentIndexChanged.connect(self._format_changed)
        self.transportCombo.currentIndexChanged.connect(self._update_visibility)
        self.presetCombo.currentIndexChanged.connect(self._preset_chosen)
        self.propertyEdit.editingFinished.connect(self._property_edited)
        self.buttonBox.accepted.connect(self._try_accept)
        self.buttonBox.rejected.connect(self.reject)
        self.messageLabel.hide()
        self._update_visibility()

    def _set(self, config: FeedConfig) -> None:
        self.nameEdit.setText(config.name)
        self.formatCombo.setCurrentIndex(max(0, self.formatCombo.findData(config.format)))
        self.transportCombo.setCurrentIndex(max(0, self.transportCombo.findData(config.transport)))
        self.urlEdit.setText(config.url)
        self.mqttHostEdit.setText(config.mqtt_host)
        self.mqttPortSpin.setValue(config.mqtt_port)
        fmt = feed_format(config.format)
        self.mqttTopicEdit.setText(config.mqtt_topic or (fmt.mqtt_topic if fmt is not None else ""))
        self.mqttTlsCheck.setChecked(config.mqtt_tls)
        self.refreshSpin.setValue(config.refresh_s)
        self.propertyEdit.setText(config.property)
        thresholds = config.thresholds or Thresholds()
        self.warnEdit.setText("" if thresholds.warn is None else f"{thresholds.warn:g}")
        self.alertEdit.setText("" if thresholds.alert is None else f"{thresholds.alert:g}")
        self._select_matching_preset()
        self.staleSpin.setValue(config.stale_after)
        self.authSelect.setConfigId(config.authcfg)
        self.archiveWidget.setFilePath(config.archive_path)
        self.archiveConnectionCombo.setConnection(config.archive_connection)
        self.archiveSchemaEdit.setText(config.archive_schema)
        self.enabledCheck.setChecked(config.enabled)

    def config(self) -> FeedConfig:
        """Return the configuration as entered (an edited feed keeps its id)."""
        base = self._original or FeedConfig(name="", format=SENSORTHINGS)
        return replace(
            base,
            name=self.nameEdit.text().strip(),
            format=int(self.formatCombo.currentData()),
            transport=str(self.transportCombo.currentData()),
            url=self.urlEdit.text().strip(),
            mqtt_host=self.mqttHostEdit.text().strip(),
            mqtt_port=self.mqttPortSpin.value(),
            mqtt_topic=self.mqttTopicEdit.text().strip(),
            mqtt_tls=self.mqttTlsCheck.isChecked(),
            refresh_s=self.refreshSpin.value(),
            property=self.propertyEdit.text().strip(),
            thresholds=Thresholds(_number(self.warnEdit.text()), _number(self.alertEdit.text())),
            stale_after=self.staleSpin.value(),
            authcfg=self.authSelect.configId() or "",
            archive_path=self.archiveWidget.filePath().strip(),
            archive_connection=self.archiveConnectionCombo.currentConnection() or "",
            archive_schema=self.archiveSchemaEdit.text().strip() or "sensors",
            enabled=self.enabledCheck.isChecked(),
        )

    def _add_postgis_archive(self) -> None:
        """Below the GeoPackage archive: a PostgreSQL connection and schema to archive into instead."""
        self.archiveConnectionCombo = QgsProviderConnectionComboBox("postgres", self.archiveContainer)
        self.archiveConnectionCombo.setAllowEmptyConnection(True)
        self.archiveSchemaEdit = QLineEdit(self.archiveContainer)
        self.archiveSchemaEdit.setPlaceholderText("sensors")
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("or PostgreSQL connection"), self.archiveContainer))
        row.addWidget(self.archiveConnectionCombo, 1)
        row.addWidget(QLabel(tr("schema"), self.archiveContainer))
        row.addWidget(self.archiveSchemaEdit)
        self.archiveContainer.layout().addLayout(row)

    def _try_accept(self) -> None:
        problems = self.config().problems()
        self.messageLabel.setText("\n".join(QCoreApplication.translate("feed_config", p) for p in problems))
        self.messageLabel.setVisible(bool(problems))
        if not problems:
            self.accept()

    def _format(self) -> FeedFormat:
        return FEED_FORMATS[int(self.formatCombo.currentData())]

    def _format_changed(self) -> None:
        fmt = self._format()
        self.refreshSpin.setValue(fmt.refresh_s)
        if fmt.supports_mqtt:
            self.mqttTopicEdit.setText(fmt.mqtt_topic)
        else:
            self.transportCombo.setCurrentIndex(self.transportCombo.findData("http"))
        self._update_visibility()

    def _update_visibility(self) -> None:
        fmt = self._format()
        mqtt = self.transportCombo.currentData() == "mqtt"
        self.transportCombo.setEnabled(fmt.supports_mqtt)
        for widget in (self.urlLabel, self.urlEdit):
            widget.setVisible(not mqtt)
        for widget in (self.mqttHostLabel, self.mqttHostEdit, self.mqttPortSpin, self.mqttTlsCheck):
            widget.setVisible(mqtt)
        for widget in (self.mqttTopicLabel, self.mqttTopicEdit):
            widget.setVisible(mqtt)
        self.refreshLabel.setText(tr("Expected every") if mqtt else tr("Refresh every"))
        self.sourceLabel.setText(format_tr(fmt.hint))
        self.adjustSize()  # as tall as the rows shown: no gap where the hidden ones were

    def _preset_chosen(self) -> None:
        key = self.presetCombo.currentData()
        if key:
            preset = THRESHOLD_PRESETS[key]
            self.warnEdit.setText(f"{preset.warn:g}")
            self.alertEdit.setText(f"{preset.alert:g}")

    def _property_edited(self) -> None:
        key = pollutant_key(self.propertyEdit.text())
        if key and not self.warnEdit.text() and not self.alertEdit.text():
            self.presetCombo.setCurrentIndex(self.presetCombo.findData(key))

    def _select_matching_preset(self) -> None:
        warn, alert = _number(self.warnEdit.text()), _number(self.alertEdit.text())
        for index in range(1, self.presetCombo.count()):
            preset = THRESHOLD_PRESETS[self.presetCombo.itemData(index)]
            if (preset.warn, preset.alert) == (warn, alert):
                self.presetCombo.setCurrentIndex(index)
                return
        self.presetCombo.setCurrentIndex(0)


def preset_text(preset: ThresholdPreset) -> str:
    """Write a threshold preset as the list shows it: "NO₂: 25 / 40 µg/m³" (German "Lärm: 53 / 65 dB(A)")."""
    label = QCoreApplication.translate("feed_config", preset.label)
    return f"{label}: {local_number(preset.warn)} / {local_number(preset.alert)} {preset.unit}"


def local_number(value: float) -> str:
    """Write a number as short as it goes, with the decimal sign of the user's language."""
    return f"{value:g}".replace(".", decimal_sign())


def decimal_sign() -> str:
    """Return the decimal sign of the QGIS user interface's language."""
    from ..algorithms.base import user_language

    return "," if user_language() == "de" else "."


def _fill(container: QWidget, widget: QWidget) -> None:
    layout = QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)


def _number(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    try:
        return float(text) if text else None
    except ValueError:
        return None
