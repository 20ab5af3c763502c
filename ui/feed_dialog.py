"""Dialog to add or edit a live feed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qgis.gui import QgsAuthConfigSelect, QgsFileWidget
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, QLocale
from qgis.PyQt.QtGui import QDoubleValidator
from qgis.PyQt.QtWidgets import QDialog, QVBoxLayout, QWidget

from ..core.live.feed_config import (
    DEFAULT_MQTT_TOPICS,
    DEFAULT_REFRESH_S,
    FORMAT_NAMES,
    MQTT_FORMATS,
    THRESHOLD_PRESETS,
    FeedConfig,
    Thresholds,
    pollutant_key,
)

FORM_CLASS, _ = uic.loadUiType(str(Path(__file__).with_name("feed_dialog.ui")))


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("feed_dialog", text)


class FeedDialog(QDialog, FORM_CLASS):
    """Edits a FeedConfig; ``config()`` returns the edited copy after ``accept``."""

    def __init__(self, config: FeedConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setupUi(self)
        self._original = config
        for number, name in FORMAT_NAMES.items():
            self.formatCombo.addItem(name, number)
        self.transportCombo.addItem(tr("HTTP: poll the URL"), "http")
        self.transportCombo.addItem(tr("MQTT: subscribe to uplinks"), "mqtt")
        self.presetCombo.addItem(tr("Custom"), "")
        for key, preset in THRESHOLD_PRESETS.items():
            self.presetCombo.addItem(
                f"{preset.label}: {preset.warn:g} / {preset.alert:g} {preset.unit} ({preset.source})", key
            )
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
        self._set(config or FeedConfig(name="", format=0))
        self.formatCombo.currentIndexChanged.connect(self._format_changed)
        self.transportCombo.currentIndexChanged.connect(self._update_visibility)
        self.presetCombo.currentIndexChanged.connect(self._preset_chosen)
        self.propertyEdit.editingFinished.connect(self._property_edited)
        self.buttonBox.accepted.connect(self._try_accept)
        self.buttonBox.rejected.connect(self.reject)
        self._update_visibility()

    def _set(self, config: FeedConfig) -> None:
        self.nameEdit.setText(config.name)
        self.formatCombo.setCurrentIndex(max(0, self.formatCombo.findData(config.format)))
        self.transportCombo.setCurrentIndex(max(0, self.transportCombo.findData(config.transport)))
        self.urlEdit.setText(config.url)
        self.mqttHostEdit.setText(config.mqtt_host)
        self.mqttPortSpin.setValue(config.mqtt_port)
        self.mqttTopicEdit.setText(config.mqtt_topic or DEFAULT_MQTT_TOPICS.get(config.format, ""))
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
        self.enabledCheck.setChecked(config.enabled)

    def config(self) -> FeedConfig:
        """Return the configuration as entered (an edited feed keeps its id)."""
        base = self._original or FeedConfig(name="", format=0)
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
            enabled=self.enabledCheck.isChecked(),
        )

    def _try_accept(self) -> None:
        problems = self.config().problems()
        self.messageLabel.setText("\n".join(QCoreApplication.translate("feed_config", p) for p in problems))
        if not problems:
            self.accept()

    def _format_changed(self) -> None:
        fmt = int(self.formatCombo.currentData())
        self.refreshSpin.setValue(DEFAULT_REFRESH_S.get(fmt, 300))
        if fmt in DEFAULT_MQTT_TOPICS:
            self.mqttTopicEdit.setText(DEFAULT_MQTT_TOPICS[fmt])
        else:
            self.transportCombo.setCurrentIndex(self.transportCombo.findData("http"))
        self._update_visibility()

    def _update_visibility(self) -> None:
        fmt = int(self.formatCombo.currentData())
        mqtt = self.transportCombo.currentData() == "mqtt"
        self.transportCombo.setEnabled(fmt in MQTT_FORMATS)
        for widget in (self.urlLabel, self.urlEdit):
            widget.setVisible(not mqtt)
        for widget in (self.mqttHostLabel, self.mqttHostEdit, self.mqttPortSpin, self.mqttTlsCheck):
            widget.setVisible(mqtt)
        for widget in (self.mqttTopicLabel, self.mqttTopicEdit):
            widget.setVisible(mqtt)
        self.refreshLabel.setText(tr("Expected every") if mqtt else tr("Refresh every"))
        hints = {
            0: tr("SensorThings: the service root (…/v1.1); the newest observation of every Datastream is read."),
            1: tr("openSenseMap: a box URL (…/boxes/<id>) or a boxes query; lastMeasurement is shown."),
            2: tr("Sensor.Community: e.g. https://data.sensor.community/airrohr/v1/filter/area=51.31,9.49,10"),
            3: tr("The Things Network v3: MQTT v3/<app>@<tenant>/devices/+/up, or the Storage Integration URL."),
            4: tr("ChirpStack v4: MQTT application/<id>/device/+/event/up."),
            5: tr("CSV: a URL or file with station, time and value columns."),
        }
        self.sourceLabel.setText(hints.get(fmt, ""))

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
