"""Creates a blob container in Azurite (Azure Blob Storage's emulator), signed with the
emulator's well-known development account key; standard library only.

    azurite_container.py http://127.0.0.1:PORT CONTAINER

Retries for a few seconds while the emulator starts. Used by scripts/object-storage.sh.
"""

import base64
import hashlib
import hmac
import sys
import time
import urllib.error
import urllib.request
from email.utils import formatdate

# The emulator's documented development account (not a secret).
ACCOUNT = "devstoreaccount1"
KEY = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
VERSION = "2021-08-06"
CONTENT_TYPE = "application/octet-stream"


def create_container(endpoint, name):
    date = formatdate(usegmt=True)
    # Shared Key string-to-sign: verb, 11 standard headers (only Content-Type set), then the
    # x-ms-* headers and the resource (path-style: the account appears twice).
    to_sign = "\n".join(["PUT", "", "", "", "", CONTENT_TYPE, "", "", "", "", "", ""]) + "\n"
    to_sign += f"x-ms-date:{date}\nx-ms-version:{VERSION}\n/{ACCOUNT}/{ACCOUNT}/{name}\nrestype:container"
    signature = base64.b64encode(hmac.new(KEY, to_sign.encode(), hashlib.sha256).digest()).decode()
    request = urllib.request.Request(
        f"{endpoint}/{ACCOUNT}/{name}?restype=container", method="PUT", data=b"",
        headers={"x-ms-date": date, "x-ms-version": VERSION, "Content-Type": CONTENT_TYPE,
                 "Authorization": f"SharedKey {ACCOUNT}:{signature}"})
    return urllib.request.urlopen(request).status


def main():
    endpoint, name = sys.argv[1], sys.argv[2]
    for attempt in range(100):
        try:
            create_container(endpoint, name)
            return
        except (urllib.error.URLError, ConnectionError):
            if attempt == 99:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main()
