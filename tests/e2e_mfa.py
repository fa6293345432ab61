"""The admin's sign-in against the real nginx and programs (tests/e2e_mfa.sh):
  - without a session: the admin API answers 401 JSON, an admin page sends the browser
    to the sign-in page, which is served; a forged cookie or a forged X-Admin-User
    header does not pass;
  - POST /admin/api/session with the password and the TOTP code sets an HttpOnly,
    SameSite=Strict cookie (Secure over HTTPS) that reaches the admin API, whose audit
    line names the admin; a wrong password, a wrong code or a code used already is
    refused (401) and a malformed body is 400;
  - a recovery code signs in once; a session idle past its time (the admin file's clock
    moved back) is refused; signing out ends the session and removes the cookie;
  - the allow-list still holds: from an address outside it a valid cookie gets 403;
  - rotation: a new secret replaces the old only with a code of it;
  - repeated failures lock the sign-in (429 "locked", even for the right code), and a
    flood of sign-ins meets nginx's rate limit (429 "rate_limited").
"""
import fcntl
import hashlib
import json
import os
import secrets
import socket
import ssl
import sys
import time
import http.client

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_mfa")
OUTSIDE = "127.0.0.2"   # not on nginx.conf's /admin/ allow-list


def creds(sysm, code, password=None, user="admin"):
    return {"user": user, "password": sysm.password() if password is None else password,
            "code": code}


def sign_in(sysm, body, **kw):
    return T.request(sysm, "POST", "/admin/api/session", body, **kw)


def with_cookie(token):
    return {"Cookie": "cv_admin=" + token}


def step_code(secret, step):
    return T.totp(secret, step=step)


def age_session(sysm, token, seconds):
    """Moves token's session back in time in the admin file (as the clock would), under
    the program's own lock."""
    d = sysm.election_dir
    sid = hashlib.sha256(token.encode()).hexdigest()
    with open(os.path.join(d, "admin-auth.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        path = os.path.join(d, "admin-auth.json")
        with open(path) as f:
            doc = json.load(f)
        found = False
        for s in doc["sessions"]:
            if s["id"] == sid:
                s["created"] -= seconds
                s["seen"] -= seconds
                found = True
        with open(path, "w") as f:   # in place: the owner and mode stay the service's
            json.dump(doc, f)
    return found


def no_session(sysm):
    r = T.request(sysm, "GET", "/admin/api/election")
    res.check("the admin API without a session answers 401 JSON (unauthorized)",
              r.status == 401 and r.code == "unauthorized"
              and (r.header("content-type") or "").startswith("application/json"), r)
    for path in ("/admin/", "/admin/admin.js"):
        r = T.request(sysm, "GET", path)
        res.check(f"{path} without a session sends the browser to the sign-in page",
                  r.status in (302, 303) and (r.header("location") or "").endswith(
                      "/admin/login.html"), r)
    for path in ("/admin/login.html", "/admin/login.js"):
        r = T.request(sysm, "GET", path)
        res.check(f"{path} is served without a session", r.status == 200, r)
    r = T.request(sysm, "GET", "/admin/api/election", headers=with_cookie(secrets.token_hex(32)))
    res.check("a forged session cookie is refused (401)", r.status == 401, r)
    r = T.request(sysm, "POST", "/admin/api/close", {},
                  headers={"X-Admin-User": "admin", "Remote-User": "admin"})
    res.check("a forged X-Admin-User header does not pass (401)", r.status == 401, r)


def flows(sysm):
    secret = sysm.totp_secret()
    now = int(time.time()) // 30
    code = step_code(secret, now)
    r = sign_in(sysm, creds(sysm, code, password="wrong-password"))
    res.check("a wrong password is refused (401 bad_credentials)",
              r.status == 401 and r.code == "bad_credentials", r)
    r = sign_in(sysm, creds(sysm, code, user="root"))
    res.check("an unknown user is refused (401)", r.status == 401, r)
    wrong = "%06d" % ((int(code) + 1) % 1000000)
    r = sign_in(sysm, creds(sysm, wrong))
    res.check("a wrong code is refused (401)", r.status == 401 and r.code == "bad_credentials", r)
    r = sign_in(sysm, {"user": "admin", "password": sysm.password()})
    res.check("a sign-in without a code is malformed (400)", r.status == 400, r)

    r = sign_in(sysm, creds(sysm, code))
    ok = res.check("the password and the current code sign in (201)", r.status == 201, r)
    token = T.session_cookie(r)
    cookie = (r.header("set-cookie") or "")
    flags = [p.strip().lower() for p in cookie.split(";")]
    res.check("the cookie is HttpOnly, SameSite=Strict, for /admin/, not Secure over HTTP",
              "httponly" in flags and "samesite=strict" in flags and "path=/admin/" in flags
              and "secure" not in flags and token and len(token) == 64, cookie)
    if not ok:
        return
    r = T.request(sysm, "PUT", "/admin/api/election", {"title": "MFA election"},
                  headers=with_cookie(token))
    res.check("the session reaches the admin API (the election is made)", r.status == 201, r)
    r = T.request(sysm, "GET", "/admin/", headers=with_cookie(token))
    res.check("the session reaches the admin page", r.status == 200 and b"<html" in r.body, r)
    with open(os.path.join(sysm.election_dir, "audit.log")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    put = [a for a in lines if a["path"] == "/admin/api/election" and a["method"] == "PUT"]
    res.check("the audit line of the change names the admin", put and put[-1]["remote_user"] == "admin",
              lines[-3:])
    signins = [a for a in lines if a["path"] == "/admin/api/session"]
    res.check("sign-ins, refused ones too, are in the audit log with the user claimed",
              any(a["status"] == 201 and a["remote_user"] == "admin" for a in signins)
              and any(a["status"] == 401 for a in signins), signins)

    r = sign_in(sysm, creds(sysm, code))
    res.check("the same code again is refused (401): a code is taken once", r.status == 401, r)

    with open(os.path.join(sysm.data, "demo", "admin-recovery-codes")) as f:
        recovery = f.read().split()
    res.check("the demo keeps ten recovery codes", len(recovery) == 10, recovery)
    r = sign_in(sysm, creds(sysm, recovery[0]))
    res.check("a recovery code signs in (201, 9 left)",
              r.status == 201 and (r.json or {}).get("recovery_codes_left") == 9, r)
    rtoken = T.session_cookie(r)
    r = sign_in(sysm, creds(sysm, recovery[0]))
    res.check("the same recovery code is refused the second time (401)", r.status == 401, r)

    # idle for 16 minutes: over
    res.check("the session is in the admin file (hashed)", age_session(sysm, token, 16 * 60))
    r = T.request(sysm, "GET", "/admin/api/election", headers=with_cookie(token))
    res.check("a session idle for 16 minutes is refused (401)", r.status == 401, r)
    r = T.request(sysm, "GET", "/admin/api/election", headers=with_cookie(rtoken))
    res.check("another session is still good", r.status == 200, r)

    r = T.request(sysm, "DELETE", "/admin/api/session", headers=with_cookie(rtoken))
    gone = (r.header("set-cookie") or "").lower()
    res.check("signing out answers 200 and removes the cookie (Max-Age=0)",
              r.status == 200 and "cv_admin=;" in gone and "max-age=0" in gone, r.headers)
    r = T.request(sysm, "GET", "/admin/api/election", headers=with_cookie(rtoken))
    res.check("a signed-out session is refused (401)", r.status == 401, r)

    # the allow-list: a valid session from an address outside it
    r = sign_in(sysm, creds(sysm, step_code(secret, max(now, int(time.time()) // 30) + 1)))
    res.check("the next step's code signs in (the window)", r.status == 201, r)
    token = T.session_cookie(r) or ""
    r = T.request(sysm, "GET", "/admin/api/election", headers=with_cookie(token))
    res.check("that session works from 127.0.0.1", r.status == 200, r)
    for path in ("/admin/api/election", "/admin/", "/admin/login.html"):
        r = T.request(sysm, "GET", path, headers=with_cookie(token), source=OUTSIDE)
        res.check(f"{path} from {OUTSIDE} is refused even with a valid session (403)",
                  r.status == 403, r)
    r = sign_in(sysm, creds(sysm, recovery[1]), source=OUTSIDE)
    res.check(f"signing in from {OUTSIDE} is refused (403)", r.status == 403, r)

    # rotation
    r = T.request(sysm, "POST", "/admin/api/mfa/rotate", headers=with_cookie(token))
    new = (r.json or {}).get("secret", "")
    res.check("rotation shows a new secret and its otpauth URI",
              r.status == 200 and len(new) == 32 and new != secret and
              (r.json or {}).get("otpauth_uri", "").startswith("otpauth://totp/ChainVote:admin?secret=" + new), r)
    r = T.request(sysm, "POST", "/admin/api/mfa/confirm", {"code": step_code(secret, now + 1)},
                  headers=with_cookie(token))
    res.check("a code of the old secret does not confirm it (422 bad_code)",
              r.status == 422 and r.code == "bad_code", r)
    r = T.request(sysm, "POST", "/admin/api/mfa/confirm", {"code": T.totp(new)},
                  headers=with_cookie(token))
    res.check("a code of the new secret makes it current, with ten new recovery codes",
              r.status == 200 and len((r.json or {}).get("recovery_codes", [])) == 10, r)
    step = int(time.time()) // 30 + 1
    r = sign_in(sysm, creds(sysm, step_code(secret, step)))
    res.check("the old secret signs in no more (401)", r.status == 401, r)
    r = sign_in(sysm, creds(sysm, step_code(new, step)))
    res.check("the new secret signs in", r.status == 201, r)
    r = sign_in(sysm, creds(sysm, recovery[2]))
    res.check("the old recovery codes end with the rotation (401)", r.status == 401, r)

    # the lockout: five failures in a row
    locked = None
    for i in range(8):
        r = sign_in(sysm, creds(sysm, "000000", password="wrong-again"))
        if r.status == 429:
            locked = r
            break
    res.check("repeated failures lock the sign-in (429 locked, with Retry-After)",
              locked is not None and locked.code == "locked" and
              int(locked.header("retry-after") or 0) > 0, locked)
    r = sign_in(sysm, creds(sysm, T.totp(new, step=int(time.time()) // 30 + 1)))
    res.check("while locked even the right password and code are refused (429)",
              r.status == 429 and r.code == "locked", r)

    # nginx's limit before the program: a flood from one address
    codes = set()
    for _ in range(40):
        r = sign_in(sysm, creds(sysm, "000000", password="flood"))
        codes.add((r.status, r.code))
    res.check("a flood of sign-ins meets nginx's rate limit (429 rate_limited)",
              (429, "rate_limited") in codes, codes)


def config(sysm):
    with open(os.path.join(sysm.run_dir, "nginx.conf")) as f:
        conf = f.read()
    block = conf[conf.index("location /admin/ {"):]
    block = block[:block.index("location = /_auth/admin")]
    res.check("the rendered /admin/ keeps its allow-list (allow, deny all, satisfy all) and"
              " asks auth_request, with no basic auth left",
              "satisfy all;" in block and "allow 127.0.0.1;" in block and "deny all;" in block
              and "auth_request /_auth/admin;" in block and "auth_basic" not in conf, block[:400])


def tls_cookie():
    """Over HTTPS (run.sh's TLS when listening beyond loopback) the cookie is Secure."""
    sysm = T.System(prefix="cv-mfa-tls-", host="127.0.0.3", TLS_NAME="election.test")
    try:
        if not res.check("a system starts with HTTPS on 127.0.0.3", sysm.start(), sysm.last_output):
            return
        ctx = ssl.create_default_context(cafile=os.path.join(sysm.data, "tls", "cert.pem"))
        body = json.dumps(creds(sysm, T.totp(sysm.totp_secret())))
        sock = socket.create_connection(("127.0.0.3", sysm.port), timeout=10)
        conn = http.client.HTTPConnection("election.test", sysm.port, timeout=10)
        conn.sock = ctx.wrap_socket(sock, server_hostname="election.test")
        conn.request("POST", "/admin/api/session", body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        cookie = r.getheader("set-cookie") or ""
        r.read()
        conn.close()
        flags = [p.strip().lower() for p in cookie.split(";")]
        res.check("over HTTPS the session cookie is Secure, HttpOnly and SameSite=Strict",
                  r.status == 201 and "secure" in flags and "httponly" in flags
                  and "samesite=strict" in flags, (r.status, cookie))
    finally:
        sysm.cleanup()


def main():
    sysm = T.System(prefix="cv-mfa-")
    try:
        if not res.check("the system starts", sysm.start(), sysm.last_output):
            return
        res.check("the start banner says how to get a code",
                  "chainvote totp" in sysm.last_output and "admin-totp" in sysm.last_output,
                  sysm.last_output)
        st = os.stat(os.path.join(sysm.election_dir, "admin-auth.json"))
        res.check("the admin file is 0600 and the programs' own",
                  st.st_mode & 0o777 == 0o600 and
                  (os.geteuid() != 0 or st.st_uid == T.pwd_uid(T.SERVICE_USER)), oct(st.st_mode))
        config(sysm)
        no_session(sysm)
        flows(sysm)
    finally:
        sysm.cleanup()
    tls_cookie()


if __name__ == "__main__":
    res.run(main)
