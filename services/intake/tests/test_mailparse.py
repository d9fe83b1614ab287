"""Reading a mail to the help address: sender, text and attachments, whatever shape the mail has."""

from __future__ import annotations

from email.message import EmailMessage

from helpt_contracts.sealed import PersonalField as F
from helpt_intake.mailparse import NO_TEXT, NOTE_LIMIT, html_to_text, parse_mail


def mail(**headers: str) -> EmailMessage:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_a_plain_mail_gives_the_senders_name_address_and_subject_with_the_text():
    message = mail(From="Marie Peeters <marie.peeters@example.org>", To="help@leuven.helpt.local", Subject="Boodschappen")
    message.set_content("Kan iemand voor mij boodschappen doen?\nIk woon in Kessel-Lo.\n")
    parsed = parse_mail(message.as_bytes())
    assert parsed.name == "Marie Peeters" and parsed.email == "marie.peeters@example.org"
    assert parsed.note == "Subject: Boodschappen\n\nKan iemand voor mij boodschappen doen?\nIk woon in Kessel-Lo."
    assert parsed.attachments == 0 and not parsed.shortened
    assert set(parsed.personal()) == {F.NAME, F.EMAIL, F.NOTE}


def test_an_html_only_mail_is_read_as_text_without_tags_scripts_or_styles():
    message = mail(From="jan@example.org", Subject="Help")
    message.set_content(
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<p>Mijn moeder&nbsp;heeft <b>hulp</b> nodig.</p><script>alert('x')</script><div>Bel 016&#160;11 22 33</div>"
        "</body></html>", subtype="html")
    parsed = parse_mail(message.as_bytes())
    assert parsed.note == "Subject: Help\n\nMijn moeder heeft hulp nodig.\n\nBel 016 11 22 33"


def test_the_plain_alternative_is_preferred_over_the_html_one():
    message = mail(From="jan@example.org")
    message.set_content("the plain words")
    message.add_alternative("<p>the <i>html</i> words</p>", subtype="html")
    assert parse_mail(message.as_bytes()).note == "the plain words"
    assert parse_mail(message.as_bytes()).attachments == 0, "an alternative is not an attachment"


def test_attachments_are_counted_not_kept():
    message = mail(From="jan@example.org", Subject="Foto")
    message.set_content("Zie bijlage.")
    message.add_attachment(b"\x89PNG fake image bytes SECRET-IMAGE", maintype="image", subtype="png", filename="kamer.png")
    message.add_attachment("attached text SECRET-TEXT", filename="brief.txt")
    forwarded = mail(From="x@example.org", Subject="Doorgestuurd")
    forwarded.set_content("inner text SECRET-FORWARD")
    message.add_attachment(forwarded)
    parsed = parse_mail(message.as_bytes())
    assert parsed.attachments == 3
    assert parsed.note == "Subject: Foto\n\nZie bijlage."
    assert "SECRET" not in repr(parsed)


def test_without_a_display_name_there_is_no_name_and_the_address_still_counts():
    message = mail(From="anoniem@example.org", Subject="Vraag")
    message.set_content("Kan ik helpen?")
    parsed = parse_mail(message.as_bytes())
    assert parsed.name is None and parsed.email == "anoniem@example.org"
    assert F.NAME not in parsed.personal()


def test_without_a_from_header_the_envelope_sender_is_the_address():
    message = mail(Subject="Vraag")
    message.set_content("tekst")
    parsed = parse_mail(message.as_bytes(), envelope_from="bounce@example.org")
    assert parsed.email == "bounce@example.org" and parsed.name is None


def test_an_encoded_name_and_subject_are_decoded():
    message = mail(From="=?utf-8?q?Fran=C3=A7oise_D=C3=BCpont?= <f@example.org>", Subject="=?utf-8?b?SMOpbHAh?=")
    message.set_content("é")
    parsed = parse_mail(message.as_bytes())
    assert parsed.name == "Françoise Düpont" and parsed.note.startswith("Subject: Hélp!")


def test_a_long_mail_is_shortened_to_what_gdpr_seals_in_one_field_and_says_so():
    message = mail(From="jan@example.org")
    message.set_content("woord " * 2000)
    parsed = parse_mail(message.as_bytes())
    assert len(parsed.note) == NOTE_LIMIT and parsed.shortened
    assert parsed.note.endswith("the mail was longer]")


def test_an_empty_mail_or_garbage_still_gives_a_note_and_no_crash():
    assert parse_mail(b"").note == NO_TEXT
    assert parse_mail(b"\x00\xff\xfe not a mail at all").attachments == 0
    broken = b"From: <<<@@@>>>\r\nSubject: =?bogus-charset?q?x?=\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nhallo\r\n"
    parsed = parse_mail(broken)
    assert "hallo" in parsed.note


def test_html_to_text_keeps_blocks_apart():
    assert html_to_text("<ul><li>een</li><li>twee</li></ul>drie<br>vier") == "een\n\ntwee\n\ndrie\nvier"
