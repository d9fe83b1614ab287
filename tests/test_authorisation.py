

def test_a_partner_reveals_only_its_own_active_match_until_it_closes_and_every_denial_is_audited(doors) -> None:
    """A partner opens the requester's contact for its own active match only; when the match closes, access ends;
    gdpr's audit log holds every refusal (another partner, the closed match, a role without the scope, no token)."""
    gdpr = doors.client("gdpr")
    sealed = gdpr.post("/api/v1/seal", headers=doors.bearer(SV), json={
        "tenant": "leuven", "fields": {"name": "Canary Requester", "phone": "+32 16 00 00 01"}})
    assert sealed.status_code == 200, sealed.text
    subject = uuid.UUID(sealed.json()["subject_id"])
    name = sealed.json()["sealed"]["name"]
    request = help_requested(subject_id=subject)
    match = dict(tenant="leuven", match_id=uuid.uuid4(), request_id=request.request_id, volunteer_id=uuid.uuid4(),
                 organisation="woonzorg-leuven")
    doors.publish(request, MatchAccepted(**match))

    def reveal(headers: dict[str, str]) -> httpx.Response:
        return gdpr.post("/api/v1/reveal", headers=headers, json={
            "tenant": "leuven", "subject_id": str(subject), "purpose": "match-contact",
            "action": {"kind": "match", "id": str(match["match_id"])}, "sealed": {"name": name}})

    own = doors.bearer(P, organisation="woonzorg-leuven", sub="contact-woonzorg")
    opened = eventually(lambda: reveal(own), lambda r: r.status_code == 200, "the partner's own active match, at gdpr")
    assert opened.json()["fields"] == {"name": "Canary Requester"}

    other_partner = reveal(doors.bearer(P, organisation="thuiszorg-other", sub="contact-other"))
    assert other_partner.status_code == 403, other_partner.text
    assert "Canary" not in other_partner.text
    assert reveal(doors.bearer(L)).status_code == 403
    assert reveal({}).status_code == 401

    doors.publish(MatchCompleted(**match))
    closed = eventually(lambda: reveal(own), lambda r: r.status_code == 403, "the closed match refused")
    assert "closed" in closed.json()["detail"]

    records = gdpr.get("/api/v1/audit", headers=doors.bearer(D), params={"subject_id": str(subject)}).json()
    reveals = [r for r in records if r["operation"] == "reveal"]
    denied = [r for r in reveals if r["result"] == "denied"]
    assert [r for r in reveals if r["result"] == "allowed" and r.get("organisation") == "woonzorg-leuven"]
    assert any(r.get("organisation") == "thuiszorg-other" for r in denied), "the other partner's attempt"
    assert any(r.get("role") == "crisis-lead" for r in denied), "a role without gdpr:reveal"
    assert any(r.get("actor") is None and r["reason"] == "a bearer token is required" for r in denied), "no token"
    assert any(r.get("organisation") == "woonzorg-leuven" and "closed" in r["reason"] for r in denied), "after closing"
    assert "Canary" not in str(records)
    assert gdpr.get("/api/v1/audit/verify", headers=doors.bearer(D)).json()["intact"] is True
