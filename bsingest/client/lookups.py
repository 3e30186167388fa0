"""The typed look-ups the pipeline uses: a container's records, one record of each kind
by id, a container by name, a new session.

Each is a :meth:`~bsingest.client.http.HttpClient.list`, ``get`` or ``create`` with the
model and filter spelt once; those that depend on the server's generation (a dataset in
2023, a session in 2026) ask :attr:`~bsingest.client.http.HttpClient.generation` which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from .answers import Records
from .http import HttpClient
from .urls import check_id

__all__ = ["Lookups"]


class Lookups(HttpClient):
    """Look-ups by model, container and name, on top of the REST operations."""

    def experiment_data(self, dataset: str, type: str | None = None) -> Records:
        """Every Experiment Data record (2023) of ``dataset`` (of one ``type`` if given)."""
        return self._records_of("modules/experimentdata", "dataset", dataset, type)

    def data_acquisitions(self, session: str, type: str | None = None) -> Records:
        """Every Data Acquisition record (2026) of ``session`` (of one ``type`` if given)."""
        return self._records_of("modules/dataacquisition", "session", session, type)

    def acquisitions(self, container: str, type: str | None = None) -> Records:
        """The data records of a dataset (2023) or session (2026), by the server's generation."""
        gen = self.generation
        return self._records_of(gen.record_model, gen.container_field, container, type)

    def get_dataset(self, id: str) -> dict:
        """The dataset ``id`` (2023)."""
        return self.get("stem/dataset", id)

    def get_action(self, id: str) -> dict:
        """The action ``id`` (2023)."""
        return self.get("modules/action", id)

    def get_hardware_device(self, id: str) -> dict:
        """The hardware device ``id``."""
        return self.get("resources/hardwaredevice", id)

    def get_session(self, id: str) -> dict:
        """The session ``id`` (2026)."""
        return self.get("stem/session", id)

    def get_procedure(self, id: str) -> dict:
        """The procedure ``id`` (2026)."""
        return self.get("modules/procedure", id)

    def get_equipment(self, id: str) -> dict:
        """The equipment ``id`` (2026)."""
        return self.get("modules/equipment", id)

    def get_container(self, id: str) -> dict:
        """The dataset (2023) or session (2026) ``id``, by the server's generation."""
        return self.get(self.generation.container_model, id)

    def find_dataset_by_name(self, name: str) -> dict | None:
        """The one dataset called ``name`` (exactly), None if none; UsageError if several."""
        return self._find_by_name("stem/dataset", "datasets", name)

    def find_session_by_name(self, name: str) -> dict | None:
        """The one session called ``name`` (exactly), None if none; UsageError if several."""
        return self._find_by_name("stem/session", "sessions", name)

    def find_container_by_name(self, name: str) -> dict | None:
        """The dataset (2023) or session (2026) called ``name``, by the server's generation."""
        gen = self.generation
        return self._find_by_name(gen.container_model, f"{gen.container_field}s", name)

    def create_session(self, name: str, projects: Sequence[str], *,
                       date_time: str | None = None, description: str | None = None,
                       **extra: Any) -> dict:
        """POST a session (2026) named ``name`` in ``projects``; the record the server made.

        ``date_time`` is when it was recorded (ISO 8601). Like every POST, never retried:
        a caller that must not make two looks first (:meth:`find_session_by_name`).
        """
        if isinstance(projects, str) or not projects:
            raise UsageError("create_session needs a list of project UUIDs (at least one), "
                             f"not {projects!r}")
        body: dict[str, Any] = {"name": name,
                                "projects": [check_id(p, "project") for p in projects]}
        if date_time is not None:
            body["date_time"] = date_time
        if description is not None:
            body["description"] = description
        body.update(extra)
        return self.create("stem/session", body)

    def _records_of(self, model: str, field: str, container: str,
                    type: str | None) -> Records:
        filters: dict[str, Any] = {field: check_id(container, field)}
        if type is not None:
            filters["type"] = type
        return self.list(model, filters=filters)

    def _find_by_name(self, model: str, plural: str, name: str) -> dict | None:
        found = [d for d in self.list(model, filters={"name": name}) if d.get("name") == name]
        if len(found) > 1:
            ids = ", ".join(str(d.get("id")) for d in found)
            raise UsageError(f"several {plural} are named {name!r} ({ids}): give the id")
        return found[0] if found else None
