#!/usr/bin/env bash
# Team stack: an MLflow tracking + registry server on PostgreSQL, artifacts proxied from a folder (or S3).
# Usage: mlflow/server.sh [postgresql://user@host:5432/db] [artifact-dir-or-s3-uri]
# Then point GenForge at it: export MLFLOW_TRACKING_URI=http://127.0.0.1:5000
set -euo pipefail
backend=${1:-postgresql://postgres@127.0.0.1:5432/genforge}
artifacts=${2:-$HOME/.cache/genforge/mlflow-artifacts}
export DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true
exec mlflow server --backend-store-uri "$backend" --artifacts-destination "$artifacts" \
  --host 127.0.0.1 --port "${MLFLOW_PORT:-5000}" --workers 1
