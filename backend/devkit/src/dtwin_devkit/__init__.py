"""Developer tooling, a distribution of its own (dtwin-devkit, installed by `make venv`, never in the `dtwin`
wheel or the image): throwaway servers for tests and benchmarks, test helpers both test trees share, the
`dtwin dev` stack and the benchmarks of `make bench`."""
