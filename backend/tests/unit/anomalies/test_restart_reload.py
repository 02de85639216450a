"""A backend that starts finds the newest persisted model of each machine type and scores with it."""

import numpy as np

from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.type_model import fit_model
from dtwin.config import Settings
from dtwin.main import create_app


async def test_a_restarted_backend_reloads_the_newest_persisted_models(embedded_settings: Settings) -> None:
    rng = np.random.default_rng(1)
    store = FileModelStore(embedded_settings.models_dir)
    X = rng.normal([60.0, 2.0], [1.0, 0.1], size=(400, 2))
    store.save(fit_model("centrifugal_pump", X, ("temperature_c", "vibration_mm_s")))
    newest = store.save(fit_model("centrifugal_pump", X + 1.0, ("temperature_c", "vibration_mm_s")))
    store.save(fit_model("conveyor", X, ("temperature_c", "vibration_mm_s")))
    app = create_app(embedded_settings)
    async with app.router.lifespan_context(app):
        engine = app.state.consumer.scoring.engine
        pump = engine.model("centrifugal_pump")
        assert pump is not None and pump.version == newest.version == 2
        probe = np.array([[61.0, 3.0], [90.0, 1.0]])
        assert np.allclose(pump.score_samples(probe), newest.score_samples(probe))
        assert engine.model("conveyor") is not None
