#!/usr/bin/env python3
"""Uploads an STS configuration the way the seeds do (openssl recipe, signed Nectar request) and prints its ref.

Used by scripts/bench-api when the admin CLI has no `config add`. Standard library + the openssl binary only.
usage: upload_config.py --url URL --key K --secret S --server-pub PEMFILE --config FILE --workdir DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nectar_client  # noqa: E402


class _PemServer:
    """The one method upload_config needs from harness.Server: the server's public key."""

    def __init__(self, pem):
        self.pem = pem

    def server_key_pem(self):
        return self.pem


def main():
    ap = argparse.ArgumentParser()
    for name in ("--url", "--key", "--secret", "--server-pub", "--config", "--workdir"):
        ap.add_argument(name, required=True)
    a = ap.parse_args()
    with open(a.server_pub) as f:
        pem = f.read()
    with open(a.config) as f:
        text = f.read()
    client = nectar_client.NectarClient(a.url, a.key, a.secret)
    print(harness.upload_config(_PemServer(pem), client, a.workdir, text))


if __name__ == "__main__":
    main()
