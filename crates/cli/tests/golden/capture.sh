#!/usr/bin/env bash
# Re-captures the AWS CLI v1 goldens (see capture.py). Needs `pip install awscli`.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
cargo build -p confab
python3 crates/cli/tests/golden/capture.py
