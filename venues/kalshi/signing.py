"""Request signing: RSA-PSS (SHA-256, MGF1 SHA-256, salt = digest length) over
``timestamp_ms + METHOD + path``; the path is the URL path as sent (``/trade-api/v2/...``)
without its query string. The key file must be private to its owner, or we refuse it.
"""

from __future__ import annotations

import base64
import stat
import time
from collections.abc import Callable, Generator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from runner.errors import BadInputError

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    """The RSA key of ``path``; refused when group or others may read (or write) the file."""
    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
    except OSError as exc:
        raise BadInputError(f"kalshi: private key file {p}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadInputError(
            f"kalshi: private key file {p} is accessible to group/others (mode {stat.S_IMODE(mode):04o});"
            f" restrict it with: chmod 600 {p}"
        )
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=None)
    except (ValueError, TypeError, OSError):
        raise BadInputError(f"kalshi: private key file {p} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BadInputError(f"kalshi: private key file {p} does not hold an RSA key")
    return key


def sign(key: rsa.RSAPrivateKey, timestamp_ms: str, method: str, path: str) -> str:
    message = f"{timestamp_ms}{method.upper()}{path}".encode()
    return base64.b64encode(key.sign(message, PSS, hashes.SHA256())).decode()


class KalshiAuth(httpx.Auth):
    """Signs every request as sent, so a ``url:`` override with another prefix signs right."""

    def __init__(self, key_id: str, key: rsa.RSAPrivateKey, clock: Callable[[], float] = time.time) -> None:
        self._key_id = key_id
        self._key = key
        self._clock = clock

    def __repr__(self) -> str:
        return "KalshiAuth(<key>)"

    def headers(self, method: str, path: str) -> dict[str, str]:
        """The three signed headers for one request (or one WebSocket handshake: GET + its path)."""
        ts = str(int(self._clock() * 1000))
        return {"KALSHI-ACCESS-KEY": self._key_id, "KALSHI-ACCESS-TIMESTAMP": ts,
                "KALSHI-ACCESS-SIGNATURE": sign(self._key, ts, method, path)}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers(request.method, request.url.path))
        yield request
