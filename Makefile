# Everyday targets. `make run` and `make test` work on a fresh machine: they build the venv and fetch the data.
PY       ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
FMNIST   := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
CONFIG   ?= configs/dcgan-fashion.yaml
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true PREFECT_SERVER_ANALYTICS_ENABLED=false DVC_NO_ANALYTICS=1 \
       ORT_DISABLE_TELEMETRY=1 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=60

.PHONY: venv install data run test test-fast lint bench ui clean

venv install: $(STAMP)
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,team]'  # team: the team stack (psycopg, Flask-WTF) and S3 stores (dvc-s3)
	touch $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist package (31 MB, MIT); see README for other sources.
data: $(STAMP)
	@if [ ! -f $(FMNIST) ] && [ -z "$$GENFORGE_FASHION_MNIST_DIR" ]; then \
	  echo "installing Debian's dataset-fashion-mnist"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; fi
	$(BIN)/genforge data fetch
	@$(BIN)/genforge data status --dataset fashion-mnist >/dev/null 2>&1 || $(BIN)/genforge data build

# Emoji Google → Twitter (CycleGAN): `npm pack`s emoji-datasource-{google,twitter}@16.0.0 into .genforge/raw/emoji
# (sha256-checked; Noto images Apache-2.0, Twemoji CC-BY-4.0), or reads $$GENFORGE_EMOJI_DIR/{google,twitter}.
.PHONY: data-emoji
data-emoji: $(STAMP)
	@$(BIN)/genforge data status --dataset emoji-google2twitter >/dev/null 2>&1 || \
	  $(BIN)/genforge data build --config configs/cyclegan-emoji.yaml

run: data
	$(BIN)/genforge run $(CONFIG)

test: data
	$(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

# Style and architecture: ruff, then the import layers of pyproject.toml's [tool.importlinter] (a family never
# imported by a trainer, no component importing Prefect, no torch on the consumer path).
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

bench: data
	$(BIN)/python bench/run_all.py

ui: $(STAMP)
	$(BIN)/genforge ui

# The team stack on loopback (PostgreSQL, MLflow server with basic-auth, Prefect server); then
# `source .genforge/stack/stack.env`. `genforge stack status` shows it, `genforge stack down` stops it.
.PHONY: stack
stack: $(STAMP)
	$(BIN)/genforge stack up

clean:  ## forget the embedded stack's state (registry, runs, caches); data/, the venv and the team stack stay
	rm -rf mlflow/mlflow.db mlflow/artifacts .prefect
	@[ ! -d .genforge ] || find .genforge -mindepth 1 -maxdepth 1 ! -name stack -exec rm -rf {} +
