"""`make chaos`: fault injection on the real pipeline (issue #16). Each scenario runs on a fresh stack of
throwaway servers with the backend, bridge and simulator as processes, injects one fault under load and
checks the platform's promises afterwards: no reading lost or doubled, operator state back, twins equal to
the newest rows, WebSocket clients resumed, and how long recovery took."""
