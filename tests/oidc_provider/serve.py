"""Run the test OpenID Connect provider: migrate its own database, register the console as
a client and add the people and groups given, then serve HTTP until killed.

    python -m tests.oidc_provider.serve --port P --redirect-uri URI --client-id ID \\
        --client-secret S --user carol:password:group1,group2 [...]

Prints `ready` once it answers."""

from __future__ import annotations

import argparse
import os
import tempfile
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--user", action="append", default=[])
    args = parser.parse_args()

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    os.environ["OIDC_PROVIDER_RSA_KEY"] = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    os.environ["OIDC_PROVIDER_DB"] = os.path.join(tempfile.mkdtemp(prefix="oidc-idp-"), "db")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for spec in args.user:
        username, password, groups = [*spec.split(":"), ""][:3]
        user = User.objects.create_user(
            username=username, password=password, email=f"{username}@company.test"
        )
        for name in filter(None, groups.split(",")):
            user.groups.add(Group.objects.get_or_create(name=name)[0])
    Application.objects.create(
        name="switchboard",
        client_id=args.client_id,
        client_secret=args.client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=args.redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    server = make_server(
        "127.0.0.1", args.port, WSGIHandler(), server_class=_Threading, handler_class=_Quiet
    )
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
