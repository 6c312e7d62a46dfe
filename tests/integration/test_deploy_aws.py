"""deploy/aws's scripts in --dry-run mode, where they print the commands they
would run: with no aws CLI on the PATH, the exact aws commands for the node
functions, their role and the proxy's role; the proxy's systemd set-up,
whose flags the real proxy accepts; the unit file, checked by systemd."""
import json
import os
import shlex
import shutil
import subprocess

import pytest

from faasutil import wait_until
from proxyutil import ROOT, Proxy, free_port

FNCACHE_AWS = os.path.join(ROOT, "deploy", "aws", "fncache-aws")
SETUP = os.path.join(ROOT, "deploy", "aws", "proxy-setup.sh")
UNIT = os.path.join(ROOT, "deploy", "aws", "fncache-proxy.service")
ZIP = os.path.join(ROOT, "deploy", "aws", "fncache-node.zip")
TREE_PROXY = os.path.join(ROOT, "bin", "fncache-proxy")   # what proxy-setup.sh installs by default
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}   # no aws CLI there
ROLE = "arn:aws:iam::123456789012:role/fncache-node"


def run(script, *args, ok=True):
    out = subprocess.run([script] + list(args), env=ENV, capture_output=True, text=True, timeout=30)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def commands(*args):
    """The aws commands fncache-aws --dry-run prints, each as (words, {--option: value})."""
    assert shutil.which("aws", path=ENV["PATH"]) is None
    lines = run(FNCACHE_AWS, "--dry-run", *args).stdout.splitlines()
    out = []
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "aws", line
        opts, i = {}, 3
        while i < len(words):
            if i + 1 < len(words) and not words[i + 1].startswith("--"):
                opts[words[i]] = words[i + 1]
                i += 2
            else:
                opts[words[i]] = True
                i += 1
        out.append((words[1:3], opts))
    return out


def test_nodes_create_in_a_vpc():
    cmds = commands("nodes-create", "--region", "eu-west-1", "--prefix", "cache-a-", "--count", "3",
                    "--memory", "1536", "--timeout", "600", "--role-arn", ROLE,
                    "--subnets", "subnet-1,subnet-2", "--security-groups", "sg-9")
    assert [c[0] for c in cmds] == [["lambda", "create-function"], ["lambda", "wait"]] * 3
    creates = [o for (w, o) in cmds if w[1] == "create-function"]
    assert [o["--function-name"] for o in creates] == ["cache-a-0", "cache-a-1", "cache-a-2"]
    for o in creates:
        assert o["--region"] == "eu-west-1" and o["--runtime"] == "provided.al2023"
        assert o["--handler"] == "bootstrap" and o["--architectures"] == "x86_64"
        assert o["--role"] == ROLE and o["--memory-size"] == "1536" and o["--timeout"] == "600"
        assert o["--zip-file"] == "fileb://" + ZIP
        assert o["--vpc-config"] == "SubnetIds=subnet-1,subnet-2,SecurityGroupIds=sg-9"
    waits = [o for (w, o) in cmds if w[1] == "wait"]
    assert [o["--function-name"] for o in waits] == ["cache-a-0", "cache-a-1", "cache-a-2"]


def test_nodes_from_s3_update_and_delete():
    cmds = commands("nodes-create", "--region", "us-east-2", "--count", "2", "--role-arn", ROLE,
                    "--s3-bucket", "my-artifacts")
    assert cmds[0][0] == ["s3", "cp"]
    assert "s3://my-artifacts/fncache-node.zip" in run(FNCACHE_AWS, "--dry-run", "nodes-create", "--region",
                                                        "us-east-2", "--count", "1", "--role-arn", ROLE,
                                                        "--s3-bucket", "my-artifacts").stdout
    creates = [o for (w, o) in cmds if w[1] == "create-function"]
    assert len(creates) == 2 and all(o["--code"] == "S3Bucket=my-artifacts,S3Key=fncache-node.zip" for o in creates)
    assert all("--vpc-config" not in o and o["--memory-size"] == "1024" for o in creates)   # defaults

    # new code only: the functions' configuration is left alone
    cmds = commands("nodes-update", "--region", "us-east-2", "--count", "2")
    assert [w[1] for w, _ in cmds] == ["update-function-code", "wait"] * 2
    # new memory size: configuration too, after the code update has settled
    cmds = commands("nodes-update", "--region", "us-east-2", "--count", "1", "--memory", "3008")
    assert [w[1] for w, _ in cmds] == ["update-function-code", "wait", "update-function-configuration", "wait"]
    assert cmds[2][1]["--memory-size"] == "3008"

    cmds = commands("nodes-delete", "--region", "us-east-2", "--count", "4")
    assert [(w, o["--function-name"]) for w, o in cmds] == \
        [(["lambda", "delete-function"], "fncache-node-%d" % i) for i in range(4)]


def test_roles_and_policies():
    cmds = commands("role-create", "--subnets", "subnet-1", "--security-groups", "sg-1")
    assert cmds[0][0] == ["iam", "create-role"] and cmds[0][1]["--role-name"] == "fncache-node"
    trust = json.loads(cmds[0][1]["--assume-role-policy-document"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    attached = [o["--policy-arn"] for w, o in cmds if w[1] == "attach-role-policy"]
    assert attached == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                        "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
    assert len(commands("role-create")) == 3      # no VPC policy without subnets

    cmds = commands("proxy-role-create", "--region", "ap-south-1", "--prefix", "cache-b-")
    assert [w for w, _ in cmds] == [["iam", "create-role"], ["iam", "put-role-policy"],
                                    ["iam", "create-instance-profile"], ["iam", "add-role-to-instance-profile"]]
    assert json.loads(cmds[0][1]["--assume-role-policy-document"])["Statement"][0]["Principal"] == \
        {"Service": "ec2.amazonaws.com"}
    policy = json.loads(cmds[1][1]["--policy-document"])
    assert policy["Statement"] == [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                    "Resource": "arn:aws:lambda:ap-south-1:*:function:cache-b-*"}]
    assert [w[1] for w, _ in commands("proxy-role-delete")] == [
        "remove-role-from-instance-profile", "delete-instance-profile", "delete-role-policy", "delete-role"]
    assert [w[1] for w, _ in commands("role-delete")] == ["detach-role-policy", "detach-role-policy", "delete-role"]


@pytest.mark.parametrize("args,words", [
    (["nodes-create", "--role-arn", ROLE], "--region is required"),
    (["nodes-create", "--region", "us-east-1"], "needs --role-arn"),
    (["nodes-delete", "--region", "us-east-1", "--prefix", "a/b"], "--prefix"),
    (["nodes-create", "--region", "us-east-1", "--role-arn", ROLE, "--memory", "64"], "--memory"),
    (["nodes-create", "--region", "us-east-1", "--role-arn", ROLE, "--subnets", "s-1"], "--security-groups"),
    (["launch-rockets", "--region", "us-east-1"], "unknown command"),
])
def test_refusals(args, words):
    out = run(FNCACHE_AWS, "--dry-run", *args, ok=False)
    assert out.returncode == 2 and words in out.stderr and out.stdout == ""


def test_without_dry_run_needs_the_cli():
    out = run(FNCACHE_AWS, "nodes-delete", "--region", "us-east-1", ok=False)
    assert out.returncode != 0 and "aws CLI is not installed" in out.stderr and out.stdout == ""


def test_proxy_setup_flags_start_the_proxy():
    """proxy-setup.sh --dry-run: the service's steps, and an environment
    file whose flags the real proxy starts with (against the region's
    endpoint; nothing is invoked)."""
    port, node_port = free_port(), free_port()
    out = run(SETUP, "--dry-run", "--region", "eu-central-1", "--prefix", "cache-c-", "--count", "24",
              "--memory", "2048", "--listen", "127.0.0.1", "--port", str(port), "--node-port", str(node_port),
              "--advertise", "127.0.0.1:%d" % node_port, "--", "--ec", "6+2").stdout
    lines = out.splitlines()
    assert lines[0].startswith("apt-get install") and "libisal2" in lines[0] and "ca-certificates" in lines[0]
    assert "install -m 0755 %s /usr/local/bin/fncache-proxy" % TREE_PROXY in lines
    assert lines[-3:] == ["systemctl daemon-reload", "systemctl enable fncache-proxy", "systemctl restart fncache-proxy"]
    env_line = next(l for l in lines if l.startswith("FNCACHE_PROXY_ARGS="))
    # as systemd reads it: the value unquoted, then $FNCACHE_PROXY_ARGS split at spaces
    args = shlex.split(env_line.split("=", 1)[1])[0].split()
    assert args[:4] == ["--platform", "aws", "--region", "eu-central-1"]
    env = dict(ENV, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret", AWS_EC2_METADATA_DISABLED="true")
    with Proxy(*args, "--rebuild", "off", env=env, port=port) as px:   # off: no request may reach AWS
        log = lambda: px.read_log()
        wait_until(lambda: "24 nodes (cache-c-*), 6+2 code" in log() and
                   "platform https://lambda.eu-central-1.amazonaws.com" in log(), 5, "the start line")


def test_unit_file_names_what_setup_installs(tmp_path):
    unit = open(UNIT).read()
    assert "EnvironmentFile=/etc/fncache/proxy.env" in unit and "User=fncache" in unit
    assert "ExecStart=/usr/local/bin/fncache-proxy $FNCACHE_PROXY_ARGS" in unit
    # systemd's own check, with the binary where this tree has it
    local = tmp_path / "fncache-proxy.service"
    local.write_text(unit.replace("/usr/local/bin/fncache-proxy", TREE_PROXY))
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", str(local)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and out.stderr == "", out.stderr
