"""Staff pages' sign-in: a bearer token pasted once, then kept in an HttpOnly, SameSite=Strict cookie.

Every service's staff pages (the DPO's audit log, the phone console, the screeners' queue) sign
in the same way; production puts the city's OpenID Connect sign-in in front of the same cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from fastapi import Request, Response

from helpt_platform.auth import AuthError, Principal, TokenVerifier

__all__ = ["SESSION_HOURS", "end_session", "posted_token", "start_session", "token_holder"]

SESSION_HOURS = 10
_MAX_SIGN_IN_BODY = 16 * 1024


async def posted_token(request: Request) -> str:
    """The `token` field of a sign-in form (at most 16 KB read; undecodable bytes cannot break it)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_SIGN_IN_BODY:
            break
    return parse_qs(body[:_MAX_SIGN_IN_BODY].decode("utf-8", "replace")).get("token", [""])[0].strip()


def token_holder(verifier: TokenVerifier, token: str | None, allowed: Callable[[Principal], bool]) -> Principal | None:
    """Who a token names, if it is valid and `allowed` says these pages are theirs; else None."""
    if not token:
        return None
    try:
        who = verifier.verify(f"Bearer {token}")
    except AuthError:
        return None
    return who if allowed(who) else None


def start_session(response: Response, request: Request, cookie: str, token: str, *, path: str = "/") -> Response:
    """Keep the token in the staff cookie (Secure when the page came over HTTPS)."""
    response.set_cookie(cookie, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path=path, max_age=SESSION_HOURS * 3600)
    return response


def end_session(response: Response, cookie: str, *, path: str = "/") -> Response:
    response.delete_cookie(cookie, path=path)
    return response
