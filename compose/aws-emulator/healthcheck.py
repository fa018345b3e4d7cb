# Healthy when moto's own API answers (the server has loaded and serves requests).
import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:5000/moto-api/", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # noqa: BLE001 - any failure is "not ready"
    print(error, file=sys.stderr)
    sys.exit(1)
