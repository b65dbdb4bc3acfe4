"""A `credential_process` for tests: issues short-lived keys that really stop working.

Each call creates a new access key for the IAM user `ferry-rotor` on the moto server and
deletes the keys older than the previous one (IAM allows two keys per user), so a key becomes
invalid two rotations after it was issued. Prints the credential_process JSON with an
`Expiration` LIFETIME seconds from now, and appends one line per call to LOG.

Usage: python3 rotate_keys.py ENDPOINT ADMIN_KEY_ID ADMIN_SECRET LIFETIME LOG
"""

import datetime
import json
import sys

import boto3

endpoint, admin_id, admin_secret, lifetime, log = sys.argv[1:6]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=admin_id, aws_secret_access_key=admin_secret)

keys = sorted(iam.list_access_keys(UserName="ferry-rotor")["AccessKeyMetadata"],
              key=lambda k: k["CreateDate"])
deleted = []
while len(keys) >= 2:
    old = keys.pop(0)
    iam.delete_access_key(UserName="ferry-rotor", AccessKeyId=old["AccessKeyId"])
    deleted.append(old["AccessKeyId"])
new = iam.create_access_key(UserName="ferry-rotor")["AccessKey"]
expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(lifetime))
with open(log, "a") as f:
    f.write(json.dumps({"issued": new["AccessKeyId"], "deleted": deleted}) + "\n")
print(json.dumps({"Version": 1, "AccessKeyId": new["AccessKeyId"],
                  "SecretAccessKey": new["SecretAccessKey"],
                  "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}))
