"""Prepares a fresh Azurite for Ferry's tests: containers, and SAS tokens of given permissions.

Usage:
  python3 azurite_setup.py ENDPOINT containers NAME...      create containers
  python3 azurite_setup.py ENDPOINT sas CONTAINER PERMS MINUTES   print a container SAS query

ENDPOINT is the blob service URL with the account, e.g. http://127.0.0.1:10000/devstoreaccount1.
Uses Azurite's well-known development account and key.
"""

import datetime
import sys

from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

endpoint, command, *args = sys.argv[1:]
if command == "containers":
    service = BlobServiceClient(account_url=endpoint, credential={"account_name": ACCOUNT, "account_key": KEY})
    for name in args:
        service.create_container(name)
elif command == "sas":
    container, perms, minutes = args
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=float(minutes))
    print(generate_container_sas(ACCOUNT, container, account_key=KEY,
                                 permission=ContainerSasPermissions.from_string(perms), expiry=expiry))
else:
    sys.exit(f"unknown command {command}")
