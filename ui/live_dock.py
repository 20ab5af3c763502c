"""The "Live sensor layers" dock: feeds, their stations and a chart, kept current without blocking QGIS.

Wire-up (plugin.py): ``self.live_dock = create_live_dock(self.iface)`` in ``initGui`` and
``self.live_dock.shutdown()`` in ``unload``.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProject, QgsVectorLayer
from qgis.PyQt import uic
from qgis.PyQt.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QItemSelectionModel,
    QModelIndex,
    Qt,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QMessageBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.live.feed_config import FeedConfig
from ..core.live.feed_state import ERROR_STATES, TRANSIENT_STATES, FeedState, cause_first, error_message
from ..core.live.latest_values import STATUSES, LatestValue, format_value, sort_text
from ..core.sensors.fetch import redact_url
from ..core.sensors.formats import feed_format
from . import feed_store
from .feed_dialog import FeedDialog, decimal_sign, format_tr
from .feed_runner import LOG_TAG, FeedRunner, layer_name
from .feed_secrets import move_secrets, secret_names
from .fetch_task import FetchTask, SeriesTask, cancel_and_wait
from .live_layer import FEED_ID_PROPERTY, STATUS_COLORS, LiveLayer
from .series_chart import SeriesChart

FORM_CLASS, _ = uic.loadUiType(str(Path(__file__).with_name("live_dock.ui")))
#: Station, value, unit, time, status.
STATION_COLUMNS = 5
STATE_COLORS = {
    FeedState.OK: "#1a9641",
    FeedState.CONNECTED: "#1a9641",
    FeedState.FETCHING: "#1f4e79",
    FeedState.CONNECTING: "#1f4e79",
    FeedState.ERROR: "#d7191c",
    FeedState.RETRYING: "#d7191c",
    FeedState.PAUSED: "#777777",
    FeedState.IDLE: "#777777",
}
#: Seconds an error stays in the QGIS message bar.
MESSAGE_SECONDS = 15
#: Characters of an error's cause shown in the feed's row (the tooltip has it all).
ROW_CAUSE_CHARS = 60


def tr(text: str) -> str:
    """Translate in the context of this module."""
    return QCoreApplication.translate("live_dock", text)


def status_text(status: str) -> str:
    """Return the translated name of a station's status (``ok``, ``warn``, ``alert``, ``stale``, ``error``)."""
    names = {"ok": tr("normal"), "warn": tr("warn"), "alert": tr("alert"), "stale": tr("stale"),
             "error": tr("error")}
    return names.get(status, status)


def state_text(state: FeedState) -> str:
    """Return the translated name of a feed state."""
    names = {
        FeedState.IDLE: tr("waiting"),
        FeedState.FETCHING: tr("fetching…"),
        FeedState.OK: tr("ok"),
        FeedState.ERROR: tr("error"),
        FeedState.PAUSED: tr("paused"),
        FeedState.CONNECTING: tr("connecting…"),
        FeedState.CONNECTED: tr("connected"),
        FeedState.RETRYING: tr("reconnecting"),
    }
    return names.get(state, state.value)


class StationTableModel(QAbstractTableModel):
    """Latest reading per station of the selected feed, sorted in Python (cheap for many stations)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[LatestValue] = []
        self.readings: dict[str, LatestValue] = {}
        self.name_order: list[tuple[str, str]] | None = None
        self.sort_column = 0
        self.sort_order = Qt.SortOrder.AscendingOrder

    def set_readings(self, readings: dict[str, LatestValue], name_order: list[tuple[str, str]] | None = None) -> None:
        """Replace the rows, in the current sort order; ``name_order``: (name key, station id) sorted (the runner's)."""
        self.readings, self.name_order = readings, name_order
        self.beginResetModel()
        self.rows = self._arranged()
        self.endResetModel()

    def _arranged(self) -> list[LatestValue]:
        """Return the readings in the sort order; by name in the runner's order (100,000 names never sorted)."""
        readings, name_order = self.readings, self.name_order
        descending = self.sort_order == Qt.SortOrder.DescendingOrder
        if self.sort_column == 0 and name_order is not None and len(name_order) == len(readings):
            rows = [readings[station_id] for _key, station_id in name_order]
            return rows[::-1] if descending else rows
        values = list(readings.values())
        keys = list(map(_SORT_KEYS[self.sort_column], values))
        return [values[index] for index in sorted(range(len(values)), key=keys.__getitem__, reverse=descending)]

    def row_of(self, station_id: str) -> int:
        """Return the row of a station (-1 when absent)."""
        return next((row for row, reading in enumerate(self.rows) if reading.station_id == station_id), -1)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # noqa: D102 (Qt API)
        self.sort_column, self.sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        self.rows = self._arranged()
        self.layoutChanged.emit()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, D102, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, D102, B008
        return 0 if parent.isValid() else STATION_COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802, D102
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return [tr("Station"), tr("Value"), tr("Unit"), tr("Time"), tr("Status")][section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: D102
        reading = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return reading.name
            if column == 1:
                return format_value(reading.value, decimal_sign())
            if column == 2:
                return reading.unit
            if column == 3:
                return short_time(reading.time)
            return status_text(reading.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            when = reading.time.astimezone().strftime("%d.%m.%Y %H:%M:%S") if reading.time else ""
            detail = f"\n{reading.detail}" if reading.detail else ""
            return f"{reading.station_id}: {reading.property} {when}{detail}"
        if role == Qt.ItemDataRole.DecorationRole and column == 4:
            return QColor(STATUS_COLORS.get(reading.status, "#000000"))
        return None


def short_time(moment) -> str:
    """Write the time of a reading, short enough for a narrow dock: "14:06" today, "26.11. 14:06" before."""
    if moment is None:
        return ""
    local = moment.astimezone()
    return local.strftime("%H:%M") if local.date() == datetime.now().astimezone().date() else local.strftime(
        "%d.%m. %H:%M")


_SORT_KEYS = (
    lambda r: sort_text(r.name),
    lambda r: float("-inf") if r.value is None else r.value,
    lambda r: r.unit,
    lambda r: r.time.timestamp() if r.time else 0.0,
    lambda r: STATUSES.index(r.status) if r.status in STATUSES else -1,
)


class LiveSensorDock(QDockWidget, FORM_CLASS):
    """Lists the live feeds, keeps their layers current and charts the selected station."""

    def __init__(self, iface: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setupUi(self)
        self.setObjectName("SocialResilienceLiveSensorDock")
        self.iface = iface
        self.runners: dict[str, FeedRunner] = {}
        self._shut_down = False
        self.station_model = StationTableModel(self)
        self.stationView.setModel(self.station_model)
        station_header = self.stationView.horizontalHeader()
        station_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        station_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names elide in a narrow dock
        station_header.setStretchLastSection(False)
        station_header.moveSection(4, 1)  # the status next to the name: seen first, whatever the dock's width
        self.stationView.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        feed_header = self.feedTable.horizontalHeader()
        feed_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        feed_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        feed_header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # a long error elides (whole in tooltip)
        feed_header.setStretchLastSection(False)
        self.splitter.setSizes([90, 280, 180])
        self.chart = SeriesChart(self.chartContainer)
        layout = QVBoxLayout(self.chartContainer)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chart)
        self._settled_states: dict[str, FeedState] = {}
        self._announced_archive: dict[str, str] = {}
        self._shown_readings: tuple[str, int] = ("", -1)  #: (feed id, readings version) in the station table
        self._selected_station = ""
        self._chart_points: tuple[tuple[str, str], list, str] | None = None
        self._series_tasks: list[SeriesTask] = []
        icons = {
            self.addButton: "symbologyAdd.svg",
            self.editButton: "mActionToggleEditing.svg",
            self.removeButton: "symbologyRemove.svg",
            self.refreshButton: "mActionRefresh.svg",
            self.pauseButton: "temporal_navigation/pause.svg",
            self.importButton: "mActionFileOpen.svg",
            self.exportButton: "mActionFileSave.svg",
        }
        for button, icon in icons.items():
            button.setIcon(QgsApplication.getThemeIcon(icon))
        self.addButton.clicked.connect(self.add_feed_interactively)
        self.editButton.clicked.connect(self.edit_selected_feed)
        self.removeButton.clicked.connect(self.remove_selected_feed)
        self.refreshButton.clicked.connect(self.refresh_selected_feed)
        self.pauseButton.toggled.connect(self._pause_toggled)
        self.importButton.clicked.connect(self.import_interactively)
        self.exportButton.clicked.connect(self.export_interactively)
        self.feedTable.itemSelectionChanged.connect(self._feed_selection_changed)
        self.stationView.selectionModel().selectionChanged.connect(self._station_selection_changed)
        project = QgsProject.instance()
        project.readProject.connect(self._project_read)
        project.cleared.connect(self.drop_all_feeds)
        new_project = getattr(iface, "newProjectCreated", None) if iface is not None else None
        self._new_project_signal = new_project if hasattr(new_project, "connect") else None
        if self._new_project_signal is not None:
            self._new_project_signal.connect(self.drop_all_feeds)
        self._update_buttons()
        self.load_project_feeds()

    # -- feeds ---------------------------------------------------------------------------------

    def feeds(self) -> list[FeedConfig]:
        """Return the configured feeds in display order."""
        return [runner.config for runner in self.runners.values()]

    def add_feed(self, config: FeedConfig, save: bool = True) -> FeedRunner:
        """Create the feed's layer (or adopt the project's one) and start it when enabled."""
        config = self.protect_secrets(config)
        runner = FeedRunner(config, self._layer_for(config), self)
        runner.changed.connect(self._runner_changed)
        self.runners[config.feed_id] = runner
        self._add_row(config.feed_id)
        if save:
            self._save()
        if config.enabled:
            runner.start()
        else:
            runner.pause()
        if self.feedTable.currentRow() < 0:
            self.feedTable.selectRow(0)
        return runner

    def update_feed(self, config: FeedConfig) -> None:
        """Apply an edited configuration to its running feed."""
        config = self.protect_secrets(config)
        runner = self.runners[config.feed_id]
        if runner.live_layer is None:
            runner.attach_layer(self._layer_for(config))
        runner.reconfigure(config)
        self._save()
        self._refresh_row(config.feed_id)

    def remove_feed(self, feed_id: str) -> None:
        """Stop a feed and remove it and its layer."""
        runner = self.runners.pop(feed_id)
        self._settled_states.pop(feed_id, None)
        runner.dispose()
        layer = runner.live_layer.layer if runner.live_layer is not None else None
        runner.deleteLater()
        if layer is not None and QgsProject.instance().mapLayer(layer.id()) is not None:
            QgsProject.instance().removeMapLayer(layer.id())
        row = self._row_of(feed_id)
        if row >= 0:
            self.feedTable.removeRow(row)
        self._save()
        self._feed_selection_changed()

    def drop_all_feeds(self) -> None:
        """Forget all feeds without touching the project (it is being cleared)."""
        for runner in self.runners.values():
            runner.dispose()
            runner.deleteLater()
        self.runners.clear()
        self._settled_states.clear()
        self.feedTable.setRowCount(0)
        self.station_model.set_readings({})
        self.chart.show_message(tr("Select a station to see its recent values."))
        self._update_buttons()

    def load_project_feeds(self) -> None:
        """Start the feeds saved in the current project (a bad entry is left out and named in the message bar)."""
        problems: list[str] = []
        for config in feed_store.load_from_project(problems=problems):
            if config.feed_id not in self.runners:
                self.add_feed(config, save=False)
        self._tell(tr("Live feeds of the project"), problems)

    def protect_secrets(self, config: FeedConfig) -> FeedConfig:
        """Offer to move a password or key in the feed's URL into a QGIS authentication configuration.

        Projects and exported lists never hold it (``feeds_to_json``); declined, it stays until QGIS closes.
        """
        names = secret_names(config)
        if not names:
            return config
        answer = QMessageBox.question(
            self, tr("Keep the secret of {} safe").format(config.name),
            tr("The URL of the live feed {} holds {}. Projects and exported feed lists never store it. Move it into "
               "a QGIS authentication configuration (encrypted, kept with QGIS)? With No it is used until QGIS "
               "closes and then has to be entered again.").format(config.name, ", ".join(names)),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return config
        try:
            return move_secrets(config)
        except ValueError as error:
            QMessageBox.warning(self, tr("Keep the secret of {} safe").format(config.name), str(error))
            return config

    def _tell(self, title: str, problems: list[str]) -> None:
        """Show what was left out or repaired in the message bar (and the log)."""
        for problem in problems:
            QgsMessageLog.logMessage(f"{title}: {problem}", LOG_TAG, Qgis.Warning)
        if problems and self.iface is not None:
            self.iface.messageBar().pushMessage(title, " ".join(problems[:3]), Qgis.Warning, MESSAGE_SECONDS)

    def _project_read(self, *_args: Any) -> None:
        self.drop_all_feeds()
        self.load_project_feeds()
        if self.runners:
            self.show()  # a project with live feeds shows them

    def _layer_for(self, config: FeedConfig) -> LiveLayer:
        for layer in QgsProject.instance().mapLayers().values():
            if isinstance(layer, QgsVectorLayer) and layer.customProperty(FEED_ID_PROPERTY, "") == config.feed_id:
                adopted = LiveLayer.adopt(layer)
                if adopted is not None:
                    return adopted
        live = LiveLayer.create(layer_name(config), config.feed_id)
        QgsProject.instance().addMapLayer(live.layer)
        return live

    def _save(self) -> None:
        feed_store.save_to_project(self.feeds())

    # -- user actions ----------------------------------------------------------------------------

    def selected_feed_id(self) -> str:
        """Id of the selected feed ("" when none)."""
        row = self.feedTable.currentRow()
        item = self.feedTable.item(row, 0) if row >= 0 else None
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    def open_feed_dialog(self, config: FeedConfig | None = None) -> FeedConfig | None:
        """Show the feed dialog; the entered configuration, or None when cancelled."""
        dialog = FeedDialog(config, self)
        dialog.setObjectName("SocialResilienceFeedDialog")
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        result = dialog.config() if accepted else None
        dialog.deleteLater()
        return result

    def add_feed_interactively(self) -> None:
        """Ask for a new feed and start it."""
        config = self.open_feed_dialog()
        if config is not None:
            self.add_feed(config)
            self.feedTable.selectRow(self._row_of(config.feed_id))

    def edit_selected_feed(self) -> None:
        """Edit the selected feed."""
        feed_id = self.selected_feed_id()
        if feed_id:
            config = self.open_feed_dialog(self.runners[feed_id].config)
            if config is not None:
                self.update_feed(config)

    def remove_selected_feed(self) -> None:
        """Remove the selected feed after confirmation."""
        feed_id = self.selected_feed_id()
        if not feed_id:
            return
        answer = QMessageBox.question(
            self,
            tr("Remove live feed"),
            tr("Remove the feed {} and its layer?").format(self.runners[feed_id].config.name),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_feed(feed_id)

    def refresh_selected_feed(self) -> None:
        """Refresh the selected feed now."""
        feed_id = self.selected_feed_id()
        if feed_id:
            self.runners[feed_id].refresh()

    def _pause_toggled(self, paused: bool) -> None:
        feed_id = self.selected_feed_id()
        if not feed_id:
            return
        runner = self.runners[feed_id]
        if paused == (not runner.config.enabled):
            return
        runner.config.enabled = not paused
        if paused:
            runner.pause()
        else:
            if runner.live_layer is None:
                runner.attach_layer(self._layer_for(runner.config))
            runner.start()
        self._save()

    def import_feeds(self, path: str) -> int:
        """Add the feeds of a JSON file; the number added (errors shown in a message box)."""
        problems: list[str] = []
        try:
            feeds = feed_store.import_file(path, self.feeds(), problems)
        except ValueError as error:
            QMessageBox.warning(self, tr("Import live feeds"), str(error))
            return 0
        for config in feeds:
            self.add_feed(config)
        self._tell(tr("Import live feeds"), problems)
        return len(feeds)

    def export_feeds(self, path: str) -> None:
        """Write the feeds to a JSON file."""
        feed_store.export_file(self.feeds(), path)

    def import_interactively(self) -> None:
        """Ask for a JSON file and import its feeds."""
        path, _ = QFileDialog.getOpenFileName(self, tr("Import live feeds"), "", tr("Feed lists (*.json)"))
        if path:
            self.import_feeds(path)

    def export_interactively(self) -> None:
        """Ask for a JSON file and export the feeds."""
        path, _ = QFileDialog.getSaveFileName(self, tr("Export live feeds"), "", tr("Feed lists (*.json)"))
        if path:
            self.export_feeds(path if path.lower().endswith(".json") else path + ".json")

    # -- table and chart ---------------------------------------------------------------------------

    def _add_row(self, feed_id: str) -> None:
        row = self.feedTable.rowCount()
        self.feedTable.insertRow(row)
        for column in range(self.feedTable.columnCount()):
            self.feedTable.setItem(row, column, QTableWidgetItem())
        self.feedTable.item(row, 0).setData(Qt.ItemDataRole.UserRole, feed_id)
        self._refresh_row(feed_id)

    def _row_of(self, feed_id: str) -> int:
        for row in range(self.feedTable.rowCount()):
            item = self.feedTable.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == feed_id:
                return row
        return -1

    def _refresh_row(self, feed_id: str) -> None:
        row = self._row_of(feed_id)
        runner = self.runners.get(feed_id)
        if row < 0 or runner is None:
            return
        config = runner.config
        source = redact_url(config.url) if config.transport == "http" else f"mqtt://{config.mqtt_host}:{config.mqtt_port}"
        name_item = self.feedTable.item(row, 0)
        name_item.setText(config.name)
        fmt = feed_format(config.format)
        name_item.setToolTip(f"{format_tr(fmt.name) if fmt is not None else '?'}\n{source}")
        self.feedTable.item(row, 1).setText(str(len(runner.readings)))
        updated = runner.last_update.astimezone().strftime("%H:%M:%S") if runner.last_update else "–"
        self.feedTable.item(row, 2).setText(updated)
        status = self.feedTable.item(row, 3)
        color = QColor(STATE_COLORS.get(runner.state, "#000000"))
        if runner.state in ERROR_STATES:
            cause = cause_first(runner.detail)[0]
            if len(cause) > ROW_CAUSE_CHARS:
                cause = cause[: ROW_CAUSE_CHARS - 1].rstrip() + "…"
            status.setText(f"{state_text(runner.state)}: {cause}" if cause else state_text(runner.state))
            status.setToolTip(error_message(runner.detail))
        else:
            status.setText(state_text(runner.state))
            status.setToolTip(runner.detail)
        status.setForeground(color)
        status.setData(Qt.ItemDataRole.DecorationRole, color)  # the colour stays visible when the row is selected

    def _announce_error(self, runner: FeedRunner) -> None:
        """Show an error once in the QGIS message bar when the feed's settled state changes to it."""
        if runner.state in TRANSIENT_STATES:
            return
        before = self._settled_states.get(runner.feed_id)
        self._settled_states[runner.feed_id] = runner.state
        if runner.state not in ERROR_STATES or runner.state == before or self.iface is None:
            return
        self.iface.messageBar().pushMessage(
            tr("Live feed {}").format(runner.config.name), error_message(runner.detail), Qgis.Warning, MESSAGE_SECONDS
        )

    def _announce_archive(self, runner: FeedRunner) -> None:
        """Show a failed archive write once in the message bar (the feed itself is fine)."""
        before = self._announced_archive.get(runner.feed_id, "")
        self._announced_archive[runner.feed_id] = runner.archive_problem
        if runner.archive_problem and runner.archive_problem != before and self.iface is not None:
            self.iface.messageBar().pushMessage(tr("Live feed {}").format(runner.config.name),
                                                runner.archive_problem, Qgis.Warning, MESSAGE_SECONDS)

    def _runner_changed(self, feed_id: str) -> None:
        self._refresh_row(feed_id)
        runner = self.runners.get(feed_id)
        if runner is not None:
            self._announce_error(runner)
            self._announce_archive(runner)
        if feed_id == self.selected_feed_id():
            self._show_stations(feed_id)
        self._update_buttons()

    def _feed_selection_changed(self) -> None:
        feed_id = self.selected_feed_id()
        self._selected_station = ""
        self._chart_points = None
        self._show_stations(feed_id, force=True)
        self.chart.show_message(tr("Select a station to see its recent values."))
        self._update_buttons()

    def _show_stations(self, feed_id: str, force: bool = False) -> None:
        """Show the feed's stations; only when its readings changed since they were shown (or ``force``)."""
        runner = self.runners.get(feed_id)
        shown = (feed_id, runner.readings_version if runner is not None else -1)
        if shown == self._shown_readings and not force:
            return
        self._shown_readings = shown
        selected = self._selected_station
        if runner is None:
            self.station_model.set_readings({})
        else:
            self.station_model.set_readings(runner.readings, runner.name_order)
        if selected:
            for row, reading in enumerate(self.station_model.rows):
                if reading.station_id == selected:
                    index = self.station_model.index(row, 0)
                    self.stationView.selectionModel().select(
                        index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                    )
                    break
            self._update_chart()

    def _station_selection_changed(self, *_args: Any) -> None:
        rows = self.stationView.selectionModel().selectedRows()
        if not rows:
            return
        reading = self.station_model.rows[rows[0].row()]
        if reading.station_id != self._selected_station:
            self._selected_station = reading.station_id
            self._chart_points = None
            self._update_chart()

    def _update_chart(self, load: bool = True) -> None:
        runner = self.runners.get(self.selected_feed_id())
        if runner is None or not self._selected_station:
            return
        reading = runner.readings.get(self._selected_station)
        if reading is None:
            return
        if self._chart_points is not None and self._chart_points[0] == (runner.feed_id, reading.station_id):
            points, note = self._chart_points[1], self._chart_points[2]
            latest = (reading.time, reading.value)
            newer = not points or (
                reading.time is not None and reading.time - points[-1][0] >= timedelta(milliseconds=1)
            )
            if reading.time is not None and reading.value is not None and newer:
                points = [*points, latest]
                self._chart_points = (self._chart_points[0], points, note)
        else:
            points, note = runner.points(self._selected_station), tr("since the dock opened")
            fmt = feed_format(runner.config.format)
            if load and (runner.config.archive_path or (fmt is not None and fmt.supports_history)):
                self._load_series(runner, reading)
        self.chart.set_series(
            points, runner.config.thresholds, f"{reading.name}: {reading.property}", reading.unit, note
        )

    def _load_series(self, runner: FeedRunner, reading: LatestValue) -> None:
        task = SeriesTask(runner.config, reading)
        feed_id = runner.feed_id
        task.loaded.connect(
            lambda station, points, note: self._series_loaded(task, feed_id, station, points, note)
        )
        self._series_tasks.append(task)
        QgsApplication.taskManager().addTask(task)

    def _series_loaded(self, task: SeriesTask, feed_id: str, station_id: str, points: list, note: str) -> None:
        if task in self._series_tasks:
            self._series_tasks.remove(task)
        if feed_id != self.selected_feed_id() or station_id != self._selected_station:
            return
        runner = self.runners.get(feed_id)
        if not points and runner is not None:
            points = runner.points(station_id)
            note = f"{tr('since the dock opened')}; {note}" if note else tr("since the dock opened")
        self._chart_points = ((feed_id, station_id), points, note)
        self._update_chart(load=False)

    def _update_buttons(self) -> None:
        feed_id = self.selected_feed_id()
        for button in (self.editButton, self.removeButton, self.refreshButton, self.pauseButton):
            button.setEnabled(bool(feed_id))
        self.exportButton.setEnabled(bool(self.runners))
        runner = self.runners.get(feed_id)
        self.refreshButton.setEnabled(runner is not None and runner.config.transport == "http")
        self.pauseButton.blockSignals(True)
        self.pauseButton.setChecked(runner is not None and not runner.config.enabled)
        self.pauseButton.blockSignals(False)

    # -- lifetime ----------------------------------------------------------------------------------

    def our_tasks(self) -> list[Any]:
        """Tasks of this dock still known to the QGIS task manager."""
        return [task for task in QgsApplication.taskManager().tasks() if isinstance(task, (FetchTask, SeriesTask))]

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop timers, cancel tasks, end MQTT threads (waiting for them) and remove the dock."""
        if self._shut_down:
            return
        self._shut_down = True
        project = QgsProject.instance()
        project.readProject.disconnect(self._project_read)
        project.cleared.disconnect(self.drop_all_feeds)
        if self._new_project_signal is not None:
            self._new_project_signal.disconnect(self.drop_all_feeds)
        for runner in self.runners.values():
            runner.request_stop()  # all MQTT threads end in parallel
        for runner in self.runners.values():
            runner.dispose()
            runner.deleteLater()
        self.runners.clear()
        tasks, self._series_tasks = self._series_tasks, []
        for task in tasks:
            cancel_and_wait(task, timeout_s)
        deadline = time.monotonic() + timeout_s
        while self.our_tasks() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        if self.iface is not None:
            self.iface.removeDockWidget(self)
        self.hide()
        self.setParent(None)
        self.deleteLater()


#: Least width of the dock when it opens, in pixels: every column of its tables shows (a fifth of 1920 px).
DOCK_WIDTH = 380


def create_live_dock(iface: Any) -> LiveSensorDock:
    """Create the dock in the main window's right dock area: closed unless the project has live feeds.

    It opens at least ``DOCK_WIDTH`` wide, so every column shows; the plugin menu and the toolbar
    button open it, and QGIS restores where the user puts it.
    """
    window = iface.mainWindow()
    dock = LiveSensorDock(iface, window)
    iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.setVisible(bool(dock.runners))

    def wide_enough(visible: bool) -> None:  # at least DOCK_WIDTH when shown: every column of the tables fits
        if visible and not dock.isFloating() and dock.width() < DOCK_WIDTH:
            window.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    dock.visibilityChanged.connect(wide_enough)
    wide_enough(dock.isVisible())
    return dock
