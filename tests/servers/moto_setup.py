"""Prepares a fresh moto server for Ferry's tests, then switches its authentication on.

Creates: buckets ferry-a and ferry-b; an admin IAM user (Allow *) with an
access key; a read-only user (s3:Get*, s3:List*); a role `ferry-role` the admin may assume; a user `ferry-rotor` without keys.
Then POST /moto-api/reset-auth so that moto checks signatures, keys and tokens from now on.
Prints one JSON document with the keys and ARNs.

Usage: python3 moto_setup.py http://127.0.0.1:PORT
"""

import json
import sys
import urllib.request

import boto3

endpoint = sys.argv[1]
common = dict(endpoint_url=endpoint, region_name="us-east-1",
              aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **common)
s3 = boto3.client("s3", **common)

for bucket in ["ferry-a", "ferry-b"]:
    s3.create_bucket(Bucket=bucket)

allow_all = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
read_only = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]})
trust = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})

def user(name, policy):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}

admin = user("ferry-admin", allow_all)
# A user without keys: tests/servers/rotate_keys.py issues and retires its keys.
iam.create_user(UserName="ferry-rotor")
iam.put_user_policy(UserName="ferry-rotor", PolicyName="p", PolicyDocument=allow_all)
reader = user("ferry-reader", read_only)
role = iam.create_role(RoleName="ferry-role", AssumeRolePolicyDocument=trust)["Role"]
iam.put_role_policy(RoleName="ferry-role", PolicyName="p", PolicyDocument=allow_all)

req = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0",
                             headers={"Content-Type": "text/plain"}, method="POST")
urllib.request.urlopen(req).read()

print(json.dumps({"admin": admin, "reader": reader, "role_arn": role["Arn"],
                  "buckets": ["ferry-a", "ferry-b"]}))
