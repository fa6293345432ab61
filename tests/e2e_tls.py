"""HTTPS wherever the service listens beyond loopback (tools/run.sh, nginx.conf), with the
real nginx and programs:

- LISTEN=127.0.0.2 (not loopback's 127.0.0.1): run.sh makes a self-signed certificate in
  DATA/tls/ (key 0600) for TLS_NAME and says loudly that browsers will warn; the service
  answers over HTTPS by that name, with HSTS; plain HTTP on the HTTPS port and on
  HTTP_PORT only redirects to HTTPS (a vote posted there is not taken);
- the CLI and the miner verify the certificate by default: without --cacert, with
  another CA, or over http:// they refuse and nothing is voted; with --cacert they vote,
  mine, approve and check a receipt;
- the TLS set-up scanned from outside (openssl s_client per protocol and per cipher,
  and sslscan when installed) offers nothing below TLS 1.2 and no weak cipher, and no
  session tickets; the probe itself is shown able to see an old protocol and a weak
  cipher on a server that offers them (openssl s_server), so that its "refused" means
  something;
- the admin's own certificate (TLS_CERT, TLS_KEY) is the one served, with no note, and
  OCSP stapling is configured for a certificate that names a responder;
- supervised as in the container (LISTEN=0.0.0.0 there; 127.0.0.3 here), the miner
  supervisord runs trusts the certificate made at first start and mines over HTTPS;
- LISTEN=127.0.0.1 stays plain HTTP with no TLS in the rendered config.
"""
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import cvtest as T

R = T.Results("tls-service")
NAME = "election.test"
ADDR = "127.0.0.2"
ALLOWED_12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}
ALLOWED_13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


def get(port, path, cafile=None, name=NAME, method="GET", body=None, addr=ADDR):
    """One request over TLS to addr:port, checking the certificate for name against
    cafile (None: the system's CAs). (status, headers, body), or (None, error text)."""
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        sock = socket.create_connection((addr, port), timeout=10)
    except OSError as e:
        return None, str(e), b""
    try:
        s = ctx.wrap_socket(sock, server_hostname=name)
    except (ssl.SSLError, OSError) as e:
        sock.close()
        return None, str(e), b""
    conn = http.client.HTTPConnection(name, port, timeout=10)
    conn.sock = s
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def plain(port, path, method="GET", body=None):
    """Plain HTTP to ADDR:port with Host NAME:port: (status, headers, body)."""
    conn = http.client.HTTPConnection(ADDR, port, timeout=10)
    try:
        conn.request(method, path, body=body,
                     headers={"Host": f"{NAME}:{port}", "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except (OSError, http.client.HTTPException) as e:
        return 0, {}, str(e).encode()
    finally:
        conn.close()


def run(*args, timeout=60):
    try:
        r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        return 124, "timed out"


def handshake(port, *opts):
    """openssl s_client to ADDR:port with opts: (connected, output). A handshake that
    completed prints the negotiated cipher; any refusal does not."""
    try:
        r = subprocess.run(["openssl", "s_client", "-connect", f"{ADDR}:{port}",
                            "-servername", NAME, *opts], input="", capture_output=True,
                           text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    out = r.stdout + r.stderr
    m = re.search(r"Cipher is (\S+)", out)
    return bool(m and m.group(1) != "(NONE)"), out


def weak_ciphers():
    """Every TLS 1.2-or-older cipher this OpenSSL knows (security level 0) beyond the
    strong list nginx.conf offers."""
    out = subprocess.run(["openssl", "ciphers", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         capture_output=True, text=True).stdout.strip()
    return [c for c in out.split(":") if c and c not in ALLOWED_12 and c not in ALLOWED_13]


def self_signed(dirname, name, *ext):
    key, cert = os.path.join(dirname, name + ".key"), os.path.join(dirname, name + ".pem")
    args = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "30", "-subj", f"/CN={NAME}",
            "-addext", f"subjectAltName=DNS:{NAME},IP:{ADDR}", "-keyout", key, "-out", cert]
    for e in ext:
        args[-4:-4] = ["-addext", e]
    subprocess.run(args, check=True, capture_output=True)
    return cert, key


def fingerprint(pem):
    return subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem],
                          capture_output=True, text=True).stdout.strip()


def served_fingerprint(port):
    ok, out = handshake(port, "-showcerts")
    m = re.search(r"(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)", out, re.S)
    if not m:
        return ""
    r = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=m.group(1),
                       capture_output=True, text=True)
    return r.stdout.strip()


def probe_control(tmp):
    """The probe against openssl s_server offering TLS 1.0 and a weak cipher: it must
    see both, or its refusals below prove nothing."""
    rsa_key = os.path.join(tmp, "control-rsa.key")
    rsa_cert = os.path.join(tmp, "control-rsa.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=control", "-keyout", rsa_key, "-out", rsa_cert],
                   check=True, capture_output=True)
    port = T.free_port(ADDR)
    srv = subprocess.Popen(["openssl", "s_server", "-accept", f"{ADDR}:{port}", "-cert", rsa_cert,
                            "-key", rsa_key, "-cipher", "ALL:@SECLEVEL=0", "-min_protocol", "TLSv1",
                            "-quiet"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection((ADDR, port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        old, out1 = handshake(port, "-tls1", "-cipher", "ALL:@SECLEVEL=0")
        weak, out2 = handshake(port, "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0")
        R.check("the probe sees TLS 1.0 on a server that offers it (so its refusals mean something)",
                old, out1[-400:])
        R.check("the probe sees a weak cipher (AES128-SHA) on a server that offers it", weak, out2[-400:])
    finally:
        srv.kill()
        srv.wait()


def supervised():
    """The container's way (Dockerfile: run.sh supervise under tini, LISTEN beyond
    loopback): HTTPS with the certificate made at first start, and the miner that
    supervisord runs trusts it: a vote sent over HTTPS gets mined into a proposal."""
    addr = "127.0.0.3"
    # the open demo: the vote below goes in at once (the secret demo's ceremony runs
    # beside supervisord, after the service answers; e2e_secretdemo covers it)
    sysm = T.System(prefix="cv-tls-sup-", host=addr, DEMO=1, MINER=1, WORKERS=1, TLS_NAME=NAME,
                    BALLOTS="open")
    proc = None
    try:
        log = open(os.path.join(sysm.tmp, "supervise.out"), "w")
        proc = subprocess.Popen(["tini", "-s", "--", "sh", T.RUN_SH, "supervise",
                                 str(sysm.port), sysm.data], env=sysm.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        cert = os.path.join(sysm.data, "tls", "cert.pem")
        up = T.wait_until(lambda: os.path.exists(cert) and
                          get(sysm.port, "/api/election", cafile=cert, addr=addr)[0] == 200, 60)
        R.check("supervised beyond loopback (the container): HTTPS answers", up,
                open(log.name).read()[-1500:])
        if not up:
            return
        voter = os.path.join(sysm.data, "demo", "voters", "voter-02.json")
        rc, out = run(T.CHAINVOTE, "vote", "--url", f"https://{addr}:{sysm.port}", "--cacert", cert,
                      "--key", voter, "--candidate", "2")
        R.check("a vote over HTTPS is accepted there", rc == 0, out)
        mined = T.wait_until(lambda: "proposed" in sysm.log_tail("miner", 50), 30)
        R.check("and the supervised miner, trusting the certificate, proposes a block with it",
                mined, sysm.log_tail("miner"))
    finally:
        sysm.run_sh("stop")
        if proc is not None:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        sysm.cleanup()


def main():
    tmp = tempfile.mkdtemp(prefix="cv-tls-")
    http_port = T.free_port(ADDR)
    sysm = T.System(prefix="cv-tls-", host=ADDR, DEMO=1, TLS_NAME=NAME, HTTP_PORT=http_port)
    port = sysm.port
    plain_sys = None
    try:
        started = sysm.start()
        out = sysm.last_output
        R.check("run.sh starts with LISTEN beyond loopback", started, out[-600:])
        if not started:
            return
        cert = os.path.join(sysm.data, "tls", "cert.pem")
        key = os.path.join(sysm.data, "tls", "key.pem")
        R.check("it made a self-signed certificate and key in DATA/tls/",
                os.path.isfile(cert) and os.path.isfile(key))
        R.check("the key is mode 0600", os.stat(key).st_mode & 0o777 == 0o600,
                oct(os.stat(key).st_mode))
        san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", cert],
                             capture_output=True, text=True).stdout
        R.check("the certificate names TLS_NAME and the listening address",
                f"DNS:{NAME}" in san and f"IP Address:{ADDR}" in san, san)
        R.check("run.sh says loudly that browsers will warn, and the HTTPS address",
                "SELF-SIGNED" in out and "WILL WARN" in out and f"https://{NAME}:{port}/" in out,
                out[-800:])
        with open(os.path.join(sysm.run_dir, "nginx.conf")) as f:
            conf = f.read()
        R.check("the rendered config listens with ssl, TLS 1.2/1.3 only, session tickets off",
                f"listen {ADDR}:{port} ssl;" in conf and "ssl_protocols TLSv1.2 TLSv1.3;" in conf
                and "ssl_session_tickets off;" in conf and not re.search(r"@[A-Z_]+@", re.sub(r"#.*", "", conf)))
        R.check("no OCSP stapling for a certificate without a responder",
                "ssl_stapling on" not in conf)

        # ---- HTTPS by the name; plain HTTP only redirects
        st, hdrs, body = get(port, "/api/election", cafile=cert)
        R.check("HTTPS by the host name answers the API (certificate verified)",
                st == 200 and b'"title"' in body, (st, body[:200]))
        hsts = (hdrs or {}).get("strict-transport-security", "") if st else ""
        m = re.search(r"max-age=(\d+)", hsts)
        R.check("with HSTS of at least a year", m and int(m.group(1)) >= 31536000, hsts)
        st, err, _ = get(port, "/api/election", cafile=None)
        R.check("a client with only the system's CAs refuses the self-signed certificate",
                st is None and "CERTIFICATE_VERIFY_FAILED" in err, err)
        st, hdrs, body = plain(port, "/vote.html?x=1")
        R.check("plain HTTP on the HTTPS port redirects to HTTPS (301)",
                st == 301 and hdrs.get("location") == f"https://{NAME}:{port}/vote.html?x=1",
                (st, hdrs.get("location")))
        st, hdrs, body = plain(port, "/api/election")
        R.check("and serves nothing of the API", st == 301 and b'"title"' not in body, (st, body[:200]))
        st, hdrs, body = plain(http_port, "/register.html")
        R.check("plain HTTP on HTTP_PORT only redirects to the HTTPS port",
                st == 301 and hdrs.get("location") == f"https://{NAME}:{port}/register.html",
                (st, hdrs.get("location")))

        # ---- the CLI and the miner verify
        voter = os.path.join(sysm.data, "demo", "voters", "voter-01.json")
        url = f"https://{ADDR}:{port}"
        other, _ = self_signed(tmp, "other")
        rc, out = run(T.CHAINVOTE, "vote", "--url", url, "--key", voter, "--candidate", "1")
        R.check("the CLI refuses the service's certificate it does not trust (exit 1)",
                rc == 1 and "not trusted" in out and "--cacert" in out, out)
        rc, out = run(T.CHAINVOTE, "vote", "--url", url, "--cacert", other, "--key", voter,
                      "--candidate", "1")
        R.check("and one from another CA given with --cacert", rc == 1 and "not trusted" in out, out)
        rc, out = run(T.CHAINVOTE, "vote", "--url", f"http://{ADDR}:{port}", "--key", voter,
                      "--candidate", "1")
        R.check("over http:// it does not follow the redirect and says where to go",
                rc == 1 and "redirect" in out and f"https://{ADDR}:{port}" in out, out)
        rc, out = run(T.CHAINVOTE, "vote", "--url", url, "--cacert", os.path.join(tmp, "missing.pem"),
                      "--key", voter, "--candidate", "1")
        R.check("an unreadable --cacert is refused by name", rc != 0 and "missing.pem" in out, out)
        rc, out = run(T.CHAINVOTE, "vote", "--url", url, "--cacert", cert, "--key", voter,
                      "--candidate", "1", "--receipt-out", os.path.join(tmp, "receipt.json"))
        R.check("with --cacert the CLI votes (so no refused attempt above had voted)",
                rc == 0 and re.fullmatch(r"[0-9a-f]{64}\s*", out.strip() + "\n") is not None, out)
        rc, out = run(T.MINER, "--url", url, "--once", "--threads", "1", timeout=20)
        R.check("the miner refuses the certificate it does not trust",
                rc != 0 and "not trusted" in out, out[-400:])
        rc, out = run(T.MINER, "--url", url, "--cacert", cert, "--once", "--threads", "1", timeout=60)
        R.check("with --cacert the miner mines and posts a block", rc == 0, out[-400:])
        approved = 0
        for i in (1, 2):
            v = os.path.join(sysm.data, "demo", "validators", f"validator-{i}.json")
            rc, out = run(T.CHAINVOTE, "approve", "--url", url, "--cacert", cert, "--key", v, "--all")
            approved += rc == 0
        R.check("two validators approve over HTTPS with --cacert", approved == 2, out)
        rc, out = run(T.CHAINVOTE, "receipt", "--url", url, "--cacert", cert, "--receipt",
                      os.path.join(tmp, "receipt.json"))
        R.check("and the vote's receipt checks out as committed over HTTPS", rc == 0, out)
        rc, out = run(T.CHAINVOTE, "verify", url)
        R.check("chainvote verify refuses the certificate without --cacert", rc == 1
                and "certificate" in out.lower() and "valid" not in out.split(), out[-300:])
        rc, out = run(T.CHAINVOTE, "verify", "--cacert", cert, url)
        R.check("chainvote verify --cacert checks the chain over HTTPS",
                rc == 0 and out.rstrip().endswith("valid"), out[-300:])

        # ---- the TLS set-up from outside
        for proto in ("-tls1", "-tls1_1"):
            ok, out = handshake(port, proto, "-cipher", "ALL:@SECLEVEL=0")
            R.check(f"{proto}: refused", not ok, out[-300:])
        for proto in ("-tls1_2", "-tls1_3"):
            ok, out = handshake(port, proto)
            R.check(f"{proto}: accepted", ok, out[-300:])
        weak = weak_ciphers()
        accepted = [c for c in weak
                    if handshake(port, "-tls1_2", "-cipher", c + ":@SECLEVEL=0")[0]]
        R.check(f"none of {len(weak)} weak TLS 1.2 ciphers is accepted",
                len(weak) > 20 and not accepted, accepted)
        ok, out = handshake(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
        R.check("a strong TLS 1.2 cipher is (the per-cipher probe can succeed here)", ok, out[-300:])
        ok, out = handshake(port, "-tls1_2")
        R.check("no session ticket is issued (tickets off)",
                ok and "TLS session ticket" not in out, out[-600:])
        probe_control(tmp)
        if shutil.which("sslscan"):
            rc, out = run("sslscan", "--no-colour", f"--sni-name={NAME}", f"{ADDR}:{port}", timeout=120)
            protos = dict(re.findall(r"^(SSLv[23]|TLSv1\.[0-3])\s+(enabled|disabled)", out, re.M))
            acc = re.findall(r"^(?:Accepted|Preferred)\s+(\S+)\s+\d+ bits\s+(\S+)", out, re.M)
            bad = [c for v, c in acc if c not in ALLOWED_12 and c not in ALLOWED_13]
            R.check("sslscan: SSLv2/3, TLS 1.0 and 1.1 disabled, TLS 1.2 and 1.3 enabled",
                    all(protos.get(p) == "disabled" for p in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"))
                    and protos.get("TLSv1.2") == "enabled" and protos.get("TLSv1.3") == "enabled",
                    protos or out[-600:])
            R.check(f"sslscan: every accepted cipher ({len(acc)}) is a strong one",
                    acc and not bad, bad or out[-600:])
        else:
            print("# sslscan is not installed: the openssl probes above stand alone")

        # ---- the admin's certificate, with an OCSP responder named
        sysm.stop()
        acert, akey = self_signed(tmp, "admin", "authorityInfoAccess=OCSP;URI:http://ocsp.invalid/")
        started = sysm.start(TLS_CERT=acert, TLS_KEY=akey)
        out = sysm.last_output
        R.check("run.sh starts with the admin's TLS_CERT and TLS_KEY", started, out[-600:])
        R.check("the admin's certificate is the one served",
                started and served_fingerprint(port) == fingerprint(acert))
        R.check("with no self-signed note", "SELF-SIGNED" not in out, out[-600:])
        with open(os.path.join(sysm.run_dir, "nginx.conf")) as f:
            conf = f.read()
        R.check("OCSP stapling is on for a certificate that names a responder",
                "ssl_stapling on;" in conf and re.search(r"resolver \S+;", conf))
        st, _, body = get(port, "/api/election", cafile=acert)
        R.check("and the service answers with it", st == 200 and b'"title"' in body, (st, body[:200]))
        sysm.stop()
        started = sysm.start(TLS_CERT=acert)
        R.check("TLS_CERT without TLS_KEY is refused", not started and "TLS_KEY" in sysm.last_output,
                sysm.last_output[-300:])

        supervised()

        # ---- loopback stays plain
        plain_sys = T.System(prefix="cv-tls-plain-")
        started = plain_sys.start()
        R.check("on 127.0.0.1 run.sh starts", started, plain_sys.last_output[-400:])
        with open(os.path.join(plain_sys.run_dir, "nginx.conf")) as f:
            conf = f.read()
        r = T.request(plain_sys, "GET", "/api/election")
        conf = re.sub(r"#.*", "", conf)
        R.check("and stays plain HTTP: no ssl in the config, no certificate made, answers over http",
                "ssl" not in conf and "497" not in conf and "Strict-Transport" not in conf
                and not os.path.exists(os.path.join(plain_sys.data, "tls"))
                and r.status in (200, 404), (r, conf.count("ssl")))
    finally:
        sysm.cleanup()
        if plain_sys:
            plain_sys.cleanup()
        T.remove_tree(tmp)


R.run(main)
