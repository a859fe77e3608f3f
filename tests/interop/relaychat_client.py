#!/usr/bin/python3
"""An independent relaychat client, written only from docs/protocol.md.

Layers (protocol.md section 1):
  records  (section 3)  u16 big-endian length + body
  Noise    (section 4)  Noise_XX_25519_ChaChaPoly_BLAKE2b, prologue "relaychat/1"; or
                        Noise_XX_25519_AESGCM_BLAKE2b when the client offers AES-256-GCM
                        and the relay accepts (section 4.3.1)
  frames   (section 5)  type byte + fields; or a batch of frames (section 5.12)
  envelope (section 8)  crypto_box between identity keys, inside send/deliver

Needs the Debian packages python3-dissononce and python3-nacl (python3-cryptography,
needed for AES-256-GCM, is a dependency of python3-dissononce); run it with
/usr/bin/python3.

Library use:

    c = Client.connect("127.0.0.1", port, relay_key=fingerprint)
    # or offer AES-256-GCM: Client.connect(..., offer_aesgcm=True); then c.cipher is
    # "AESGCM" if the relay accepted, else "ChaChaPoly"
    c.sign_up("alice", "password123")        # or sign_in
    c.send_text("bob", "hello")
    ev = c.next_event(timeout=5)              # Message / Rejected / Frame ...

CLI: see `relaychat_client.py --help`.
"""

import argparse
import hashlib
import os
import select
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from dissononce.cipher.aesgcm import AESGCMCipher
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.extras.dh.dangerous.dh_nogen import NoGenDH
from dissononce.exceptions.decrypt import DecryptFailedException
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

import nacl.bindings
import nacl.exceptions
import nacl.utils
from nacl.public import Box, PrivateKey, PublicKey

# ---------------------------------------------------------------------------
# Constants (sections 2, 4.1, 5.1, 6)
# ---------------------------------------------------------------------------

PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
PROTOCOL_NAME_AESGCM = "Noise_XX_25519_AESGCM_BLAKE2b"
PROLOGUE = b"relaychat/1"

# cipher name (as in the Noise protocol name) -> (dissononce cipher class, protocol name)
CIPHERS = {
    "ChaChaPoly": (ChaChaPolyCipher, PROTOCOL_NAME),
    "AESGCM": (AESGCMCipher, PROTOCOL_NAME_AESGCM),
}
OFFER_AESGCM = 0x01  # handshake message 1 payload bit (section 4.3.1)

MAX_RECORD = 65535
MAX_FRAME = 65519
MAX_CIPHERTEXT = 32768
MAX_TEXT = 16384
MIN_SEALED = 104
MAX_SEALED = 17064  # the largest version 3 envelope (section 8.4 check 2)
ENVELOPE_VERSION = 2  # seal()'s version; version 1 is still opened (section 8.2)
SESSION_VERSION = 3  # sealed again between session keys (section 8.5): what clients send
SESSION_HEADER = 105  # version, two session keys, inner nonce, inner tag
PADDED_NAME = 32  # versions 2 and 3 pad as if each name were at least this long

SIGN_IN = 0x01
SIGN_UP = 0x02
SEND = 0x03
PING = 0x04
PONG = 0x05
BYE = 0x06
BATCH = 0x07  # a container of frames (section 5.12), not a frame of its own
PADDED = 0x08  # content, then zero padding (section 5.14), not a frame of its own
CHANGE_PASSWORD = 0x09  # section 5.15
DELETE_ACCOUNT = 0x0A  # section 5.16
WELCOME = 0x81
PRESENCE = 0x82
DELIVER = 0x83
ERROR = 0x84
CLOSING = 0x85
ACCOUNT_CHANGED = 0x87  # section 5.17 (0x86 last_key is not decoded by this client)

FEATURE_BATCH = 0x01  # handshake message 3 payload bit (section 4.3)
FEATURE_PADDING = 0x04  # ... "pad what you send me" (section 5.14)
CREDENTIALS_BLOCK = 512  # a padded frame carrying a password is a multiple of this (5.14)
LONGEST_NAME = 32
MAX_BATCH_ENTRY = MAX_FRAME - 3  # a frame inside a batch: 1..65516 bytes

FLAG_SNAPSHOT = 0x01
FLAG_LAST = 0x02
KIND_ONLINE = 1
KIND_OFFLINE = 2
PASSWORD_CHANGED = 1  # account_changed values (section 5.17)
ACCOUNT_DELETED = 2
# frames that carry a password: they travel alone (never in a batch) and are padded to
# whole CREDENTIALS_BLOCKs (sections 5.12, 5.14)
PASSWORD_FRAMES = (SIGN_IN, SIGN_UP, CHANGE_PASSWORD, DELETE_ACCOUNT)

REASONS = {
    1: "invalid_credentials",
    2: "name_taken",
    3: "invalid_name",
    4: "busy",
    5: "unknown_recipient",
    6: "not_signed_in",
    7: "already_signed_in",
    8: "rate_limited",
    9: "too_large",
    10: "protocol_error",
    11: "replaced",
    12: "shutting_down",
    13: "kicked",
    14: "timeout",
    15: "weak_password",
    16: "too_many_attempts",
    17: "banned",
}
MAX_REASON = max(REASONS)
REASON_CODES = {v: k for k, v in REASONS.items()}


class ProtocolError(Exception):
    """Malformed data from the peer (fatal for the connection)."""


class ConnectionClosed(Exception):
    """The TCP connection ended."""


class RelayKeyMismatch(Exception):
    """The relay's static key does not match the expected fingerprint / pin."""


class EnvelopeRejected(Exception):
    """An envelope failed one of the receiver checks (section 8.4)."""

    def __init__(self, check: str, reason: str):
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason


# ---------------------------------------------------------------------------
# Fingerprints (section 9.3)
# ---------------------------------------------------------------------------

def fingerprint(pub: bytes) -> str:
    return hashlib.blake2b(pub, digest_size=32).hexdigest()


def short_fingerprint(pub: bytes) -> str:
    fp = fingerprint(pub)[:32]
    return " ".join(fp[i:i + 4] for i in range(0, 32, 4))


def normalize_fingerprint(text: str) -> str:
    return "".join(ch for ch in text if ch not in " :").lower()


def safety_number(name_a: str, key_a: bytes, name_b: str, key_b: bytes) -> str:
    """Section 9.4 (client only, not on the wire)."""

    def side(name: str, key: bytes) -> str:
        h = hashlib.blake2b(b"\x00\x00" + key + name.encode()).digest()
        for _ in range(5199):
            h = hashlib.blake2b(h + key).digest()
        out = ""
        for i in range(6):
            out += "%05d" % (int.from_bytes(h[5 * i:5 * i + 5], "big") % 100000)
        return out

    a, b = side(name_a, key_a), side(name_b, key_b)
    digits = min(a, b) + max(a, b)
    return " ".join(digits[i:i + 5] for i in range(0, 60, 5))


# ---------------------------------------------------------------------------
# Frames (section 5)
# ---------------------------------------------------------------------------

@dataclass
class SignIn:
    name: bytes
    password: bytes
    identity: bytes
    device_proof: Optional[bytes] = None  # section 5.2.1: 32 bytes, or absent
    TYPE = SIGN_IN


@dataclass
class SignUp:
    name: bytes
    password: bytes
    identity: bytes
    TYPE = SIGN_UP


@dataclass
class Send:
    id: int
    to: bytes
    ciphertext: bytes
    TYPE = SEND


@dataclass
class Ping:
    token: int
    TYPE = PING


@dataclass
class Pong:
    token: int
    TYPE = PONG


@dataclass
class Bye:
    TYPE = BYE


@dataclass
class ChangePassword:
    old: bytes
    new: bytes
    TYPE = CHANGE_PASSWORD


@dataclass
class DeleteAccount:
    password: bytes
    TYPE = DELETE_ACCOUNT


@dataclass
class Welcome:
    name: bytes
    TYPE = WELCOME


@dataclass
class PresenceEntry:
    kind: int  # KIND_ONLINE or KIND_OFFLINE
    name: bytes
    identity: Optional[bytes] = None


@dataclass
class Presence:
    flags: int
    entries: List[PresenceEntry] = field(default_factory=list)
    TYPE = PRESENCE

    @property
    def snapshot(self) -> bool:
        return bool(self.flags & FLAG_SNAPSHOT)

    @property
    def last(self) -> bool:
        return bool(self.flags & FLAG_LAST)


@dataclass
class Deliver:
    sender: bytes
    ciphertext: bytes
    TYPE = DELIVER


@dataclass
class Error:
    code: int
    ref: int
    text: bytes
    TYPE = ERROR

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, str(self.code))


@dataclass
class Closing:
    code: int
    text: bytes
    TYPE = CLOSING

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, str(self.code))


@dataclass
class AccountChanged:
    what: int  # PASSWORD_CHANGED (1) or ACCOUNT_DELETED (2)
    TYPE = ACCOUNT_CHANGED


Frame = Union[SignIn, SignUp, Send, Ping, Pong, Bye, ChangePassword, DeleteAccount, Welcome,
              Presence, Deliver, Error, Closing, AccountChanged]


def _b(x: Union[str, bytes]) -> bytes:
    return x.encode() if isinstance(x, str) else bytes(x)


def _str8(x: bytes) -> bytes:
    x = _b(x)
    if len(x) > 255:
        raise ValueError("str8 field longer than 255 bytes")
    return bytes([len(x)]) + x


def _blob16(x: bytes, maximum: int) -> bytes:
    if len(x) > maximum:
        raise ValueError("blob16 field too long")
    return struct.pack(">H", len(x)) + x


def _key(x: bytes) -> bytes:
    if len(x) != 32:
        raise ValueError("key must be 32 bytes")
    return bytes(x)


def encode_frame(f: Frame) -> bytes:
    t = f.TYPE
    if isinstance(f, (SignIn, SignUp)):
        out = bytes([t]) + _str8(f.name) + _str8(f.password) + _key(f.identity)
        if isinstance(f, SignIn) and f.device_proof is not None:
            out += _key(f.device_proof)
    elif isinstance(f, Send):
        out = bytes([t]) + struct.pack(">I", f.id) + _str8(f.to) + _blob16(f.ciphertext, MAX_CIPHERTEXT)
    elif isinstance(f, (Ping, Pong)):
        out = bytes([t]) + struct.pack(">Q", f.token)
    elif isinstance(f, Bye):
        out = bytes([t])
    elif isinstance(f, ChangePassword):
        out = bytes([t]) + _str8(f.old) + _str8(f.new)
    elif isinstance(f, DeleteAccount):
        out = bytes([t]) + _str8(f.password)
    elif isinstance(f, Welcome):
        out = bytes([t]) + _str8(f.name)
    elif isinstance(f, Presence):
        if f.flags > 3 or len(f.entries) > 0xFFFF:
            raise ValueError("bad presence")
        out = bytes([t, f.flags]) + struct.pack(">H", len(f.entries))
        for e in f.entries:
            if e.kind == KIND_ONLINE:
                out += bytes([KIND_ONLINE]) + _str8(e.name) + _key(e.identity)
            elif e.kind == KIND_OFFLINE:
                out += bytes([KIND_OFFLINE]) + _str8(e.name)
            else:
                raise ValueError("bad presence entry kind")
    elif isinstance(f, Deliver):
        out = bytes([t]) + _str8(f.sender) + _blob16(f.ciphertext, MAX_CIPHERTEXT)
    elif isinstance(f, Error):
        out = bytes([t, f.code]) + struct.pack(">I", f.ref) + _str8(f.text)
    elif isinstance(f, Closing):
        out = bytes([t, f.code]) + _str8(f.text)
    elif isinstance(f, AccountChanged):
        if f.what not in (PASSWORD_CHANGED, ACCOUNT_DELETED):
            raise ValueError("account_changed value must be 1 or 2")
        out = bytes([t, f.what])
    else:
        raise TypeError(f"not a frame: {f!r}")
    if len(out) > MAX_FRAME:
        raise ValueError("frame too long")
    return out


def device_proof(identity_secret: bytes, identity_public: bytes, relay_static: bytes,
                 handshake_hash: bytes) -> Optional[bytes]:
    """Section 5.2.1: proves to the relay that we hold identity_secret, for one handshake.
    None for a low-order relay key (X25519 all zeros)."""
    try:
        shared = nacl.bindings.crypto_scalarmult(identity_secret, relay_static)
    except Exception:  # PyNaCl refuses an all-zero result
        return None
    if shared == bytes(32):
        return None
    k = hashlib.blake2b(shared + identity_public + relay_static, digest_size=32).digest()
    return hashlib.blake2b(b"relaychat device proof v1" + handshake_hash, digest_size=32,
                           key=k).digest()


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("field runs past the end of the frame")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]

    def str8(self) -> bytes:
        return self.take(self.u8())

    def blob16(self, maximum: int) -> bytes:
        n = self.u16()
        if n > maximum:
            raise ProtocolError("blob16 longer than its maximum")
        return self.take(n)

    def key(self) -> bytes:
        return self.take(32)

    def reason(self) -> int:
        c = self.u8()
        if not 1 <= c <= MAX_REASON:
            raise ProtocolError(f"reason code {c} outside 1..{MAX_REASON}")
        return c

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("trailing bytes after the last field")


def decode_frame(data: bytes) -> Frame:
    """Strict decoder (section 5.1 decoding rules); raises ProtocolError."""
    if len(data) == 0:
        raise ProtocolError("empty frame")
    if len(data) > MAX_FRAME:
        raise ProtocolError("frame too long")
    r = _Reader(bytes(data))
    t = r.u8()
    if t in (SIGN_IN, SIGN_UP):
        name, pw, ident = r.str8(), r.str8(), r.key()
        f = (SignIn if t == SIGN_IN else SignUp)(name, pw, ident)
        if t == SIGN_IN and len(r.data) - r.pos == 32:  # the optional device proof
            f.device_proof = r.key()
    elif t == SEND:
        i = r.u32()
        to = r.str8()
        f = Send(i, to, r.blob16(MAX_CIPHERTEXT))
    elif t == PING:
        f = Ping(r.u64())
    elif t == PONG:
        f = Pong(r.u64())
    elif t == BYE:
        f = Bye()
    elif t == CHANGE_PASSWORD:
        old = r.str8()
        f = ChangePassword(old, r.str8())
    elif t == DELETE_ACCOUNT:
        f = DeleteAccount(r.str8())
    elif t == WELCOME:
        f = Welcome(r.str8())
    elif t == PRESENCE:
        flags = r.u8()
        if flags > 3:
            raise ProtocolError(f"presence flags {flags} above 3")
        count = r.u16()
        entries = []
        for _ in range(count):
            kind = r.u8()
            if kind == KIND_ONLINE:
                entries.append(PresenceEntry(kind, r.str8(), r.key()))
            elif kind == KIND_OFFLINE:
                entries.append(PresenceEntry(kind, r.str8()))
            else:
                raise ProtocolError(f"presence entry kind {kind}")
        f = Presence(flags, entries)
    elif t == DELIVER:
        sender = r.str8()
        f = Deliver(sender, r.blob16(MAX_CIPHERTEXT))
    elif t == ERROR:
        code = r.reason()
        ref = r.u32()
        f = Error(code, ref, r.str8())
    elif t == CLOSING:
        code = r.reason()
        f = Closing(code, r.str8())
    elif t == ACCOUNT_CHANGED:
        what = r.u8()
        if what not in (PASSWORD_CHANGED, ACCOUNT_DELETED):
            raise ProtocolError(f"account_changed value {what} is not 1 or 2")
        f = AccountChanged(what)
    else:
        raise ProtocolError(f"unknown frame type 0x{t:02x}")
    r.end()
    return f


def encode_batch(frames) -> bytes:
    """A batch (section 5.12) of frames (Frame objects or already encoded bytes): 0x07, then
    a blob16 per frame. Raises ValueError for what the rules forbid."""
    if not frames:
        raise ValueError("a batch needs at least one frame")
    out = bytearray([BATCH])
    for f in frames:
        b = bytes(f) if isinstance(f, (bytes, bytearray)) else encode_frame(f)
        if not 1 <= len(b) <= MAX_BATCH_ENTRY:
            raise ValueError("batch entry must be 1..65516 bytes")
        if b[0] in (BATCH, PADDED) + PASSWORD_FRAMES:
            raise ValueError("a batch may not hold a batch, padded message, sign_in, sign_up, "
                             "change_password or delete_account")
        out += struct.pack(">H", len(b)) + b
    if len(out) > MAX_FRAME:
        raise ValueError("batch longer than 65519 bytes")
    return bytes(out)


def split_batch(data: bytes) -> List[bytes]:
    """The frames of a batch plaintext (starting with 0x07), strictly checked; raises
    ProtocolError if it is malformed (section 5.12). The frames themselves are not decoded."""
    if len(data) == 0 or data[0] != BATCH:
        raise ProtocolError("not a batch")
    if len(data) > MAX_FRAME:
        raise ProtocolError("batch too long")
    r = _Reader(bytes(data))
    r.u8()
    out = []
    while r.pos < len(data):
        n = r.u16()
        if n == 0:
            raise ProtocolError("bad batch: empty entry")
        f = r.take(n)
        if f[0] in (BATCH, PADDED) + PASSWORD_FRAMES:
            raise ProtocolError(f"bad batch: entry of type 0x{f[0]:02x}")
        out.append(f)
    if not out:
        raise ProtocolError("bad batch: no entries")
    return out


def pad_message(content: bytes, total: int) -> bytes:
    """A padded message (section 5.14) of exactly `total` bytes holding `content`."""
    if not 1 <= len(content) or total < len(content) + 3 or total > MAX_FRAME:
        raise ValueError("padded size out of range")
    return bytes([PADDED]) + struct.pack(">H", len(content)) + content + bytes(
        total - 3 - len(content))


def unpad_message(data: bytes) -> bytes:
    """The content of a padded message, checked; anything else as it is."""
    if not len(data) or data[0] != PADDED:
        return data
    if len(data) < 3:
        raise ProtocolError("bad padded message: no length")
    n = struct.unpack(">H", data[1:3])[0]
    if n == 0 or 3 + n > len(data):
        raise ProtocolError("bad padded message: length")
    if data[3] == PADDED:
        raise ProtocolError("bad padded message: padded inside padded")
    if any(data[3 + n:]):
        raise ProtocolError("bad padded message: a padding byte is not zero")
    return data[3:3 + n]


def padded_total(f: Frame, encoded: bytes) -> int:
    """What our client pads a frame to (section 5.14), 0 for none: frames carrying a password
    (sign_in, sign_up, change_password, delete_account) to whole 512-byte blocks, a send as
    if its recipient's name were 32 bytes."""
    if isinstance(f, (SignIn, SignUp, ChangePassword, DeleteAccount)):
        return -(-(len(encoded) + 3) // CREDENTIALS_BLOCK) * CREDENTIALS_BLOCK
    if isinstance(f, Send):
        return len(encoded) + 3 + LONGEST_NAME - min(LONGEST_NAME, len(f.to))
    return 0


def decode_message(data: bytes) -> List[Frame]:
    """The frames of one transport message plaintext: one frame, or a batch's frames,
    either possibly padded."""
    data = unpad_message(data)
    if len(data) and data[0] == BATCH:
        return [decode_frame(f) for f in split_batch(data)]
    return [decode_frame(data)]


# ---------------------------------------------------------------------------
# End-to-end envelope (section 8)
# ---------------------------------------------------------------------------

def padded_length(from_len: int, to_len: int, text_len: int,
                  version: int = ENVELOPE_VERSION) -> int:
    """The plaintext's padded length (version 3: the inner plaintext's, section 8.5)."""
    if version >= 2:
        from_len, to_len = max(from_len, PADDED_NAME), max(to_len, PADDED_NAME)
    header = SESSION_HEADER if version >= 3 else 0
    n = header + 15 + from_len + to_len + text_len
    return (n + 63) // 64 * 64 - header


def envelope_plaintext(sender: bytes, to: bytes, counter: int, text: bytes,
                       version: int = ENVELOPE_VERSION) -> bytes:
    sender, to, text = _b(sender), _b(to), _b(text)
    if len(sender) > 255 or len(to) > 255:
        raise ValueError("name too long")
    if len(text) > MAX_TEXT:
        raise ValueError("text too long")
    body = (bytes([version]) + _str8(sender) + _str8(to)
            + struct.pack(">QI", counter, len(text)) + text)
    return body + b"\x00" * (padded_length(len(sender), len(to), len(text), version) - len(body))


@dataclass
class EnvelopeContent:
    sender: bytes
    to: bytes
    counter: int
    text: bytes
    version: int = ENVELOPE_VERSION
    sender_session: Optional[bytes] = None  # version 3: the sender's session key
    to_session: bool = False  # version 3: sealed to our session key (not our identity key)


def parse_envelope_plaintext(p: bytes, versions=(1, 2)) -> EnvelopeContent:
    """Strict parse (check 4 of section 8.4); raises EnvelopeRejected."""
    try:
        r = _Reader(p)
        version = r.u8()
        if version not in versions:
            raise EnvelopeRejected("parse", f"unsupported envelope version {version}")
        sender = r.str8()
        to = r.str8()
        counter = r.u64()
        text_len = r.u32()
        if text_len > MAX_TEXT:
            raise EnvelopeRejected("parse", "text longer than 16384 bytes")
        text = r.take(text_len)
    except ProtocolError as e:
        raise EnvelopeRejected("parse", str(e))
    if len(p) != padded_length(len(sender), len(to), text_len, version):
        raise EnvelopeRejected("parse", "wrong padding length")
    if any(p[r.pos:]):
        raise EnvelopeRejected("parse", "non-zero padding")
    return EnvelopeContent(sender, to, counter, text, version)


def seal(my_secret: bytes, their_public: bytes, sender, to, counter: int, text,
         nonce: Optional[bytes] = None, version: int = ENVELOPE_VERSION) -> bytes:
    """sealed = nonce(24) || crypto_box_easy(padded plaintext)  (section 8.1)."""
    if nonce is None:
        nonce = nacl.utils.random(Box.NONCE_SIZE)
    box = Box(PrivateKey(bytes(my_secret)), PublicKey(bytes(their_public)))
    return bytes(box.encrypt(envelope_plaintext(sender, to, counter, text, version), nonce))


def seal_v3(my_secret: bytes, their_public: bytes, my_session: bytes,
            their_session: Optional[bytes], sender, to, counter: int, text,
            nonce: Optional[bytes] = None, inner_nonce: Optional[bytes] = None) -> bytes:
    """Version 3 (section 8.5): the inner plaintext boxed from our session key to theirs (or,
    not known, to their identity key), behind both session keys, boxed as section 8.1."""
    if inner_nonce is None:
        inner_nonce = nacl.utils.random(Box.NONCE_SIZE)
    if nonce is None:
        nonce = nacl.utils.random(Box.NONCE_SIZE)
    session = PrivateKey(bytes(my_session))
    inner_to = their_session if their_session is not None else their_public
    inner = bytes(Box(session, PublicKey(bytes(inner_to))).encrypt(
        envelope_plaintext(sender, to, counter, text, SESSION_VERSION), inner_nonce))
    outer = (bytes([SESSION_VERSION]) + bytes(session.public_key)
             + (bytes(their_session) if their_session is not None else bytes(32)) + inner)
    assert len(outer) % 64 == 0
    box = Box(PrivateKey(bytes(my_secret)), PublicKey(bytes(their_public)))
    return bytes(box.encrypt(outer, nonce))


def _open_box(secret: bytes, public: bytes, data: bytes, what: str) -> bytes:
    try:
        return Box(PrivateKey(bytes(secret)), PublicKey(bytes(public))).decrypt(bytes(data))
    except (nacl.exceptions.CryptoError, nacl.exceptions.RuntimeError, ValueError) as e:
        raise EnvelopeRejected("open", f"cannot open {what} ({e.__class__.__name__})")


def open_sealed(my_secret: bytes, their_public: bytes, sealed: bytes,
                my_session: Optional[bytes] = None) -> EnvelopeContent:
    """Checks 2..4 of section 8.4 (size, open, parse); version 3 needs our session secret."""
    n = len(sealed)
    if n < MIN_SEALED or n > MAX_SEALED or (n - 40) % 64 != 0:
        raise EnvelopeRejected("size", f"bad sealed size {n}")
    plain = _open_box(my_secret, their_public, sealed, "the envelope")
    if plain[:1] != bytes([SESSION_VERSION]):
        return parse_envelope_plaintext(plain)
    # Section 8.5, opening steps 1..4.
    if my_session is None:
        raise EnvelopeRejected("parse", "unsupported envelope version 3")
    if len(plain) <= SESSION_HEADER:
        raise EnvelopeRejected("parse", "version 3 envelope too short")
    sender_session, recipient_session = plain[1:33], plain[33:65]
    if recipient_session == bytes(32):
        inner_key, to_session = my_secret, False
    elif recipient_session == bytes(PrivateKey(bytes(my_session)).public_key):
        inner_key, to_session = my_session, True
    else:
        raise EnvelopeRejected("session", "sealed to a session key that is not ours")
    inner = _open_box(inner_key, sender_session, plain[65:], "the inner box")
    env = parse_envelope_plaintext(inner, versions=(SESSION_VERSION,))
    env.sender_session, env.to_session = bytes(sender_session), to_session
    return env


class Counters:
    """Sender counters (section 8.3): max(last + 1, now in microseconds)."""

    def __init__(self, clock=None):
        self.last: Dict[bytes, int] = {}
        self.clock = clock or (lambda: time.time_ns() // 1000)

    def next(self, to: bytes) -> int:
        c = max(self.last.get(to, 0) + 1, self.clock())
        self.last[to] = c
        return c


class Receiver:
    """Receiver checks 1..7 of section 8.4, with the per-sender counter memory."""

    def __init__(self, my_name: bytes, my_secret: bytes, my_session: Optional[bytes] = None):
        self.my_name = _b(my_name)
        self.my_secret = bytes(my_secret)
        self.my_public = bytes(PrivateKey(self.my_secret).public_key)
        self.my_session = my_session  # this run's session secret key (section 8.5)
        self.last_counter: Dict[Tuple[bytes, bytes], int] = {}  # per sender and key (8.4)
        self.peer_sessions: Dict[bytes, bytes] = {}  # learnt from their version 3 messages
        self.noticed: Dict[bytes, bytes] = {}  # our session key, as last sent them in a notice

    def forget_session(self, name: bytes) -> None:
        """A presence entry named them: their session key may be an earlier run's, and a
        new run of theirs has none of ours (section 8.6)."""
        self.peer_sessions.pop(_b(name), None)
        self.noticed.pop(_b(name), None)

    def owes_key_notice(self, sender: bytes, env: EnvelopeContent) -> bool:
        """Section 8.6: whether `env`, accepted from `sender`, asks for a key notice."""
        if env.version != SESSION_VERSION or sender == self.my_name:
            return False
        mine = bytes(PrivateKey(self.my_session).public_key)
        if env.to_session:  # they have our (only) session key
            self.noticed.pop(sender, None)
            return False
        return self.noticed.get(sender) != mine

    def sent_key_notice(self, to: bytes) -> None:
        self.noticed[_b(to)] = bytes(PrivateKey(self.my_session).public_key)

    def check(self, sender: bytes, ciphertext: bytes, roster: Dict[bytes, bytes]) -> EnvelopeContent:
        sender = _b(sender)
        # 1. sender key
        if sender == self.my_name:
            key = self.my_public
        elif sender in roster:
            key = roster[sender]
        else:
            raise EnvelopeRejected("sender_key", f"{sender.decode(errors='replace')} is not online")
        # 2..4. size, open, parse
        env = open_sealed(self.my_secret, key, ciphertext, self.my_session)
        # 5. addressee
        if env.to != self.my_name:
            raise EnvelopeRejected("addressee", "message not addressed to us")
        # 6. sender
        if env.sender != sender:
            raise EnvelopeRejected("sender", "inner sender differs from deliver.from")
        # 7. counter, per sender and the key of check 1
        if env.counter <= self.last_counter.get((sender, key), 0):
            raise EnvelopeRejected("counter", "replayed or reordered message (counter)")
        self.last_counter[(sender, key)] = env.counter
        if env.sender_session is not None and sender != self.my_name:
            self.peer_sessions[sender] = env.sender_session
        return env


# ---------------------------------------------------------------------------
# Records + Noise (sections 3, 4)
# ---------------------------------------------------------------------------

class NoiseConnection:
    """One TCP connection: records, Noise XX as initiator, transport frames."""

    def __init__(self, sock: socket.socket, trace: Optional[list] = None):
        self.sock = sock
        self.trace = trace  # if a list: ("out"|"in", record body length) per record
        self.buf = bytearray()
        self.send_cs: Optional[CipherState] = None
        self.recv_cs: Optional[CipherState] = None
        self.relay_static: Optional[bytes] = None
        self.handshake_hash: bytes = b""  # h after the handshake (section 5.2.1)
        self.cipher: Optional[str] = None  # "AESGCM" or "ChaChaPoly" once the handshake is done
        self.cipher_attempts: List[str] = []  # ciphers message 2 was read with, in order
        self.handshake_wire: List[tuple] = []  # ("out"|"in", exact record bytes incl. length)
        self.closed = False
        self.eof = False
        self.queue: "deque[Frame]" = deque()  # frames of a batch not yet returned
        self.messages_in = 0  # transport messages received after the handshake
        self.batches_in = 0  # ... of which were batches
        self.frames_in = 0  # frames they carried
        self.padded_in = 0  # ... of which were padded
        self.last_in_len = 0  # plaintext length of the last one, padding included
        self.pad_out = False  # pad password frames and send as section 5.14 suggests

    # -- records --
    def write_record(self, body: bytes) -> None:
        if not 1 <= len(body) <= MAX_RECORD:
            raise ValueError("record body must be 1..65535 bytes")
        if self.trace is not None:
            self.trace.append(("out", len(body)))
        wire = struct.pack(">H", len(body)) + body
        if self.send_cs is None:   # still in the handshake: keep the exact bytes
            self.handshake_wire.append(("out", wire))
        self.sock.sendall(wire)

    def _fill(self, n: int, deadline: Optional[float]) -> None:
        while len(self.buf) < n:
            if self.eof:
                raise ConnectionClosed("connection closed by peer")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out waiting for data")
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    raise TimeoutError("timed out waiting for data")
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError) as e:
                self.eof = True
                raise ConnectionClosed(str(e))
            if not chunk:
                self.eof = True
                raise ConnectionClosed("connection closed by peer")
            self.buf += chunk

    def read_record(self, timeout: Optional[float] = None, limit: int = MAX_RECORD) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._fill(2, deadline)
        n = struct.unpack(">H", self.buf[:2])[0]
        if n == 0:
            raise ProtocolError("empty record")
        if n > limit:
            raise ProtocolError(f"record of {n} bytes over the limit {limit}")
        self._fill(2 + n, deadline)
        body = bytes(self.buf[2:2 + n])
        del self.buf[:2 + n]
        if self.trace is not None:
            self.trace.append(("in", n))
        return body

    # -- handshake --
    @staticmethod
    def _handshake_state(cipher: str, static, ephemeral_private=None) -> HandshakeState:
        """A fresh initiator HandshakeState for CIPHERS[cipher]. With ephemeral_private,
        writing message 1 uses that ephemeral key instead of generating one.

        (dissononce's initialize(e=...) cannot be used for this: write_message asserts
        that e is empty before the `e` token. Its NoGenDH wrapper, meant for test vectors,
        makes the `e` token "generate" the given key pair.)"""
        dh = X25519DH()
        if ephemeral_private is not None:
            dh = NoGenDH(dh, ephemeral_private)
        cipher_cls, name = CIPHERS[cipher]
        hs = HandshakeState(SymmetricState(CipherState(cipher_cls()), Blake2bHash()), dh)
        hs.initialize(XXHandshakePattern(), True, PROLOGUE, s=static)
        assert hs.protocol_name == name, hs.protocol_name
        return hs

    def handshake(self, check_relay_key, timeout: float = 10.0, accept_batches: bool = False,
                  offer_aesgcm: bool = False, message1_payload: Optional[bytes] = None,
                  padding: bool = False) -> bytes:
        """Noise XX as initiator. check_relay_key(rs) is called after message 2
        and before message 3; it must raise to abort (then nothing more is sent).
        With accept_batches, message 3 carries the feature byte FEATURE_BATCH (section 4.3)
        and the relay may send batches; else its payload is empty.

        With offer_aesgcm, message 1 carries the offer byte 0x01 from a state initialised
        with the AESGCM name, and message 2 is read as section 4.3.1 says: with that state,
        and if it does not authenticate, with a fresh ChaChaPoly state built with the same
        ephemeral key and the same message 1 payload. self.cipher tells which one held.

        message1_payload (tests only) replaces message 1's payload (default: the byte 0x01 when
        offering, else empty); offer_aesgcm still decides which states are tried.

        With padding, message 3 also sets FEATURE_PADDING (the relay pads what it sends) and
        this side pads its sign_in, sign_up, change_password, delete_account and send frames
        (section 5.14)."""
        dh = X25519DH()
        static = dh.generate_keypair()
        payload1 = bytes(message1_payload) if message1_payload is not None else (
            bytes([OFFER_AESGCM]) if offer_aesgcm else b"")
        if offer_aesgcm:
            # keep the ephemeral until message 2 is read: the fallback state needs it
            ephemeral = dh.generate_keypair()
            first = "AESGCM"
            hs = self._handshake_state(first, static, ephemeral.private)
        else:
            ephemeral = None
            first = "ChaChaPoly"
            hs = self._handshake_state(first, static)
        m1 = bytearray()
        hs.write_message(payload1, m1)
        if ephemeral is not None:
            assert bytes(m1[:32]) == ephemeral.public.data
        self.write_record(bytes(m1))
        m2 = self.read_record(timeout, limit=MAX_RECORD)
        self.handshake_wire.append(("in", struct.pack(">H", len(m2)) + m2))
        self.cipher_attempts.append(first)
        payload = bytearray()
        try:
            hs.read_message(m2, payload)
            self.cipher = first
        except DecryptFailedException as e:
            if not offer_aesgcm:
                raise ProtocolError(f"handshake message 2 failed to decrypt: {e}")
            # section 4.3.1 step 2: the relay declined; ChaChaPoly, same e, same payload
            hs = self._handshake_state("ChaChaPoly", static, ephemeral.private)
            again = bytearray()
            hs.write_message(payload1, again)   # not sent: identical to what was sent
            assert again == m1, "message 1 differs in the fallback state"
            self.cipher_attempts.append("ChaChaPoly")
            payload = bytearray()
            try:
                hs.read_message(m2, payload)
            except DecryptFailedException as e2:
                raise ProtocolError(
                    f"handshake message 2 failed to decrypt under AESGCM and ChaChaPoly: {e2}")
            self.cipher = "ChaChaPoly"
        rs = bytes(hs.rs.data)
        self.relay_static = rs
        try:
            check_relay_key(rs)
        except Exception:
            self.close()
            raise
        m3 = bytearray()
        features = (FEATURE_BATCH if accept_batches else 0) | (FEATURE_PADDING if padding else 0)
        c1, c2 = hs.write_message(bytes([features]) if features else b"", m3)
        self.pad_out = padding
        self.write_record(bytes(m3))
        self.send_cs, self.recv_cs = c1, c2
        # h after message 3, the same on both sides: binds a device proof (section 5.2.1)
        self.handshake_hash = bytes(hs.symmetricstate.get_handshake_hash())
        return rs

    # -- transport --
    def write_raw_transport(self, plaintext: bytes) -> None:
        """Encrypt any plaintext (also an invalid frame) as one transport message."""
        self.write_record(self.send_cs.encrypt_with_ad(b"", bytes(plaintext)))

    def send_frame(self, f: Frame) -> None:
        encoded = encode_frame(f)
        total = padded_total(f, encoded) if self.pad_out else 0
        self.write_raw_transport(pad_message(encoded, total) if total else encoded)

    def send_batch(self, frames) -> None:
        """Several frames (Frame objects or encoded bytes) in one transport message."""
        self.write_raw_transport(encode_batch(frames))

    def recv_frame(self, timeout: Optional[float] = None) -> Frame:
        """The next frame: from a batch received earlier, else from the next transport
        message (one frame, or a batch whose frames are then returned one by one)."""
        if self.queue:
            return self.queue.popleft()
        body = self.read_record(timeout)
        try:
            plain = self.recv_cs.decrypt_with_ad(b"", body)
        except DecryptFailedException:
            self.close()
            raise ProtocolError("transport decryption failed")
        try:
            frames = decode_message(plain)
        except ProtocolError:
            self.close()
            raise
        self.messages_in += 1
        self.frames_in += len(frames)
        self.last_in_len = len(plain)
        if len(plain) and plain[0] == PADDED:
            self.padded_in += 1
            plain = unpad_message(plain)
        if len(plain) and plain[0] == BATCH:
            self.batches_in += 1
        self.queue.extend(frames[1:])
        return frames[0]

    def wait_closed(self, timeout: float) -> bool:
        """Read and discard until EOF; True if the peer closed within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------
# High-level client (section 7)
# ---------------------------------------------------------------------------

@dataclass
class Message:
    """A delivered envelope that passed all seven checks."""
    sender: bytes
    to: bytes
    counter: int
    text: bytes
    version: int = ENVELOPE_VERSION
    to_session: bool = False  # version 3 sealed to our session key (section 8.5)
    owes_key_notice: bool = False  # section 8.6: the sender lacks our session key

    @property
    def key_notice(self) -> bool:
        """Version 3 with no text: only the sender's session key, not shown (section 8.6)."""
        return self.version == SESSION_VERSION and self.text == b""


@dataclass
class Rejected:
    """A delivered envelope that failed a check; the connection stays up."""
    sender: bytes
    check: str
    reason: str


class SignInFailed(Exception):
    def __init__(self, frame: Union[Error, Closing]):
        super().__init__(f"{frame.reason}: {frame.text.decode(errors='replace')}")
        self.frame = frame


class AccountChangeFailed(Exception):
    """change_password / delete_account answered with an error (ref 0) or a closing."""

    def __init__(self, frame: Union[Error, Closing]):
        super().__init__(f"{frame.reason}: {frame.text.decode(errors='replace')}")
        self.frame = frame


class Client:
    def __init__(self, conn: NoiseConnection, identity: Optional[bytes] = None):
        self.conn = conn
        self.identity_secret = bytes(identity) if identity else bytes(PrivateKey.generate())
        self.identity_public = bytes(PrivateKey(self.identity_secret).public_key)
        # Made for this run, never stored (section 8.5): what the relay's traffic recorded
        # now cannot be opened later with the identity key alone.
        self.session_secret = bytes(PrivateKey.generate())
        self.name: Optional[bytes] = None
        self.roster: Dict[bytes, bytes] = {}
        self.snapshot_done = False
        self.counters = Counters()
        self.receiver: Optional[Receiver] = None
        self.next_id = 1
        self.pending: List[object] = []  # events read while waiting for something else
        self.log: List[Frame] = []  # every frame received, in order
        self.closing: Optional[Closing] = None

    @property
    def cipher(self) -> Optional[str]:
        """The cipher the handshake settled on: "AESGCM" or "ChaChaPoly"."""
        return self.conn.cipher

    # -- connect --
    @classmethod
    def connect(cls, host: str, port: int, relay_key: Optional[str] = None,
                identity: Optional[bytes] = None, timeout: float = 10.0,
                check_relay_key=None, trace: Optional[list] = None,
                accept_batches: bool = False, offer_aesgcm: bool = False,
                message1_payload: Optional[bytes] = None,
                source: Optional[str] = None, padding: bool = False) -> "Client":
        """offer_aesgcm: offer AES-256-GCM in handshake message 1 (section 4.3.1); the
        relay may decline, then the connection uses ChaChaPoly. See Client.cipher.
        message1_payload: tests only (see NoiseConnection.handshake)."""
        sock = socket.create_connection((host, port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        sock.settimeout(timeout)  # bounds blocking writes; reads use select
        # one record per write; without this, Nagle + delayed ACK add ~40 ms per exchange
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = NoiseConnection(sock, trace)

        def default_check(rs: bytes) -> None:
            if relay_key is not None and fingerprint(rs) != normalize_fingerprint(relay_key):
                raise RelayKeyMismatch(f"relay key {fingerprint(rs)} does not match {relay_key}")

        try:
            conn.handshake(check_relay_key or default_check, timeout, accept_batches,
                           offer_aesgcm, message1_payload, padding)
        except BaseException:
            conn.close()
            raise
        return cls(conn, identity)

    # -- low level --
    def send_frame(self, f: Frame) -> None:
        self.conn.send_frame(f)

    def send_batch(self, frames) -> None:
        """Frames (Frame objects or encoded bytes) as one batch transport message."""
        self.conn.send_batch(frames)

    def recv(self, timeout: float) -> Frame:
        """Next frame; handles ping (answers pong), presence (roster) automatically
        but still returns the frame."""
        f = self.conn.recv_frame(timeout)
        self.log.append(f)
        if isinstance(f, Ping):
            self.conn.send_frame(Pong(f.token))
        elif isinstance(f, Presence):
            self._apply_presence(f)
        elif isinstance(f, Closing):
            self.closing = f
        return f

    def _apply_presence(self, p: Presence) -> None:
        for e in p.entries:
            if self.name is not None and e.name == self.name:
                continue
            if self.receiver is not None:
                self.receiver.forget_session(e.name)
            if e.kind == KIND_ONLINE:
                self.roster[e.name] = e.identity
            else:
                self.roster.pop(e.name, None)
        if p.snapshot and p.last:
            self.snapshot_done = True

    def _to_event(self, f: Frame):
        if isinstance(f, Deliver):
            if self.receiver is None:
                return Rejected(f.sender, "not_signed_in", "deliver before sign-in")
            try:
                env = self.receiver.check(f.sender, f.ciphertext, self.roster)
            except EnvelopeRejected as e:
                return Rejected(f.sender, e.check, e.reason)
            return Message(env.sender, env.to, env.counter, env.text, env.version, env.to_session,
                           self.receiver.owes_key_notice(f.sender, env))
        return f

    def next_event(self, timeout: float = 5.0):
        """Next event: Message / Rejected for deliver, else the frame itself."""
        if self.pending:
            return self.pending.pop(0)
        return self._to_event(self.recv(timeout))

    def wait_for(self, predicate, timeout: float = 5.0):
        """Return the first event matching predicate; others are kept for later."""
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self.pending):
            if predicate(ev):
                return self.pending.pop(i)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out waiting for event")
            ev = self._to_event(self.recv(left))
            if predicate(ev):
                return ev
            self.pending.append(ev)

    # -- sign-in / sign-up --
    def _auth(self, cls, name, password, timeout: float) -> Welcome:
        name, password = _b(name).lower(), _b(password)
        if cls is SignIn:  # with the proof that we hold the identity key (section 5.2.1)
            self.send_frame(SignIn(name, password, self.identity_public, device_proof(
                self.identity_secret, self.identity_public, self.conn.relay_static,
                self.conn.handshake_hash)))
        else:
            self.send_frame(cls(name, password, self.identity_public))
        while True:
            f = self.recv(timeout)
            if isinstance(f, Welcome):
                break
            if isinstance(f, (Error, Closing)) and (not isinstance(f, Error) or f.ref == 0):
                raise SignInFailed(f)
            self.pending.append(self._to_event(f))
        self.name = f.name
        self.receiver = Receiver(self.name, self.identity_secret, self.session_secret)
        # the whole snapshot follows welcome, before anything else (section 5.8)
        while not self.snapshot_done:
            p = self.recv(timeout)
            if not (isinstance(p, Presence) and p.snapshot):
                raise ProtocolError(f"expected presence snapshot, got {p!r}")
        return f

    def sign_in(self, name, password, timeout: float = 10.0) -> Welcome:
        return self._auth(SignIn, name, password, timeout)

    def sign_up(self, name, password, timeout: float = 10.0) -> Welcome:
        return self._auth(SignUp, name, password, timeout)

    # -- account (sections 5.15 to 5.17) --
    def _account_request(self, f: Frame, timeout: float) -> AccountChanged:
        """Send a password frame (alone, padded if the connection pads) and wait for its
        answer: account_changed, or an error with ref 0 / a closing (AccountChangeFailed).
        Other frames read meanwhile are kept for next_event."""
        self.send_frame(f)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer to the account request")
            r = self.recv(left)
            if isinstance(r, AccountChanged):
                return r
            if isinstance(r, Closing) or (isinstance(r, Error) and r.ref == 0):
                raise AccountChangeFailed(r)
            self.pending.append(self._to_event(r))

    def change_password(self, old, new, timeout: float = 10.0) -> AccountChanged:
        """Section 5.15: AccountChanged(PASSWORD_CHANGED); the session goes on."""
        a = self._account_request(ChangePassword(_b(old), _b(new)), timeout)
        if a.what != PASSWORD_CHANGED:
            raise ProtocolError(f"account_changed {a.what} in answer to change_password")
        return a

    def delete_account(self, password, timeout: float = 10.0) -> AccountChanged:
        """Section 5.16: AccountChanged(ACCOUNT_DELETED); the relay closes the connection
        next (no closing frame): see conn.wait_closed."""
        a = self._account_request(DeleteAccount(_b(password)), timeout)
        if a.what != ACCOUNT_DELETED:
            raise ProtocolError(f"account_changed {a.what} in answer to delete_account")
        return a

    # -- messages --
    def seal_for(self, to, text, counter: Optional[int] = None) -> bytes:
        to = _b(to)
        if to == self.name:
            pub = self.identity_public
        elif to in self.roster:
            pub = self.roster[to]
        else:
            raise KeyError(f"{to!r} is not online")
        if counter is None:
            counter = self.counters.next(to)
        their_session = (bytes(PrivateKey(self.session_secret).public_key) if to == self.name
                         else self.receiver.peer_sessions.get(to))
        return seal_v3(self.identity_secret, pub, self.session_secret, their_session,
                       self.name, to, counter, _b(text))

    def send_sealed(self, to, sealed: bytes) -> int:
        i = self.next_id
        self.next_id += 1
        self.send_frame(Send(i, _b(to), sealed))
        return i

    def send_text(self, to, text) -> int:
        if not _b(text):
            raise ValueError("an empty text is a key notice in version 3 (section 8.6)")
        return self.send_sealed(to, self.seal_for(to, text))

    def send_key_notice(self, to) -> int:
        """Section 8.6: no text, so that `to` learns our session key from it."""
        sid = self.send_sealed(to, self.seal_for(to, b""))
        self.receiver.sent_key_notice(to)
        return sid

    def ping(self, token: int, timeout: float = 5.0) -> Pong:
        self.send_frame(Ping(token))
        return self.wait_for(lambda e: isinstance(e, Pong) and e.token == token, timeout)

    def bye(self) -> None:
        try:
            self.send_frame(Bye())
        finally:
            # wait for the relay to flush and close (section 5.6), briefly
            self.conn.wait_closed(2.0)
            self.conn.close()

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def _cli(argv=None) -> int:
    ap = argparse.ArgumentParser(description="independent relaychat client (from docs/protocol.md)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=20001)
    ap.add_argument("--relay-key", help="expected relay fingerprint (64 hex)")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", default=os.environ.get("RELAYCHAT_PASSWORD"))
    ap.add_argument("--sign-up", action="store_true", help="create the account")
    ap.add_argument("--identity", help="hex of a 32-byte identity secret key (default: fresh)")
    ap.add_argument("--accept-batches", action="store_true",
                    help="announce feature_batch: the relay may send batches of frames")
    ap.add_argument("--offer-aesgcm", action="store_true",
                    help="offer AES-256-GCM (the relay may decline: then ChaChaPoly)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send", help="send one message to an online user")
    s.add_argument("to")
    s.add_argument("text")
    ls = sub.add_parser("listen", help="print presence and messages")
    ls.add_argument("--seconds", type=float, default=0, help="0 = forever")
    sub.add_parser("who", help="print the presence snapshot")
    sub.add_parser("chat", help="interactive: lines '<to> <text>', EOF to quit")
    pw = sub.add_parser("change-password", help="change the account's password (section 5.15)")
    pw.add_argument("--new-password", default=os.environ.get("RELAYCHAT_NEW_PASSWORD"),
                    help="default: RELAYCHAT_NEW_PASSWORD")
    sub.add_parser("delete-account", help="delete the account (section 5.16)")
    a = ap.parse_args(argv)
    if a.password is None:
        ap.error("--password or RELAYCHAT_PASSWORD is required")
    if a.cmd == "change-password" and a.new_password is None:
        ap.error("--new-password or RELAYCHAT_NEW_PASSWORD is required")

    ident = bytes.fromhex(a.identity) if a.identity else None
    try:
        c = Client.connect(a.host, a.port, relay_key=a.relay_key, identity=ident,
                           accept_batches=a.accept_batches, offer_aesgcm=a.offer_aesgcm)
    except (OSError, ConnectionClosed, ProtocolError, RelayKeyMismatch, TimeoutError) as e:
        print(f"cannot connect: {e}", file=sys.stderr)
        return 1
    print(f"relay key fingerprint: {fingerprint(c.conn.relay_static)}", file=sys.stderr)
    print(f"cipher: {c.cipher}", file=sys.stderr)
    try:
        (c.sign_up if a.sign_up else c.sign_in)(a.user, a.password)
    except SignInFailed as e:
        print(f"sign-in failed: {e}", file=sys.stderr)
        return 1

    def show(ev) -> bool:
        if isinstance(ev, Message):
            print(f"<{ev.sender.decode(errors='replace')}> {ev.text.decode(errors='replace')}")
        elif isinstance(ev, Rejected):
            print(f"rejected a message said to be from {ev.sender.decode(errors='replace')}: {ev.reason}",
                  file=sys.stderr)
        elif isinstance(ev, Presence):
            for e in ev.entries:
                state = "online" if e.kind == KIND_ONLINE else "offline"
                extra = f" {short_fingerprint(e.identity)}" if e.identity else ""
                print(f"* {e.name.decode(errors='replace')} {state}{extra}")
        elif isinstance(ev, Error):
            print(f"error {ev.reason} (ref {ev.ref}): {ev.text.decode(errors='replace')}", file=sys.stderr)
        elif isinstance(ev, Closing):
            print(f"relay closing: {ev.reason}: {ev.text.decode(errors='replace')}", file=sys.stderr)
            return False
        return True

    try:
        if a.cmd == "who":
            for n, k in sorted(c.roster.items()):
                print(f"{n.decode(errors='replace')} {short_fingerprint(k)}")
        elif a.cmd == "send":
            try:
                i = c.send_text(a.to, a.text)
            except KeyError as e:
                print(f"cannot send: {e.args[0]}", file=sys.stderr)
                c.bye()
                return 1
            # an error about this send, if any, comes soon; a ping bounds the wait
            c.send_frame(Ping(i))
            while True:
                ev = c.next_event(5)
                if isinstance(ev, Pong) and ev.token == i:
                    break
                if isinstance(ev, Error) and ev.ref == i:
                    show(ev)
                    return 1
                show(ev)
        elif a.cmd == "listen":
            end = time.monotonic() + a.seconds if a.seconds else None
            while end is None or time.monotonic() < end:
                try:
                    ev = c.next_event(1.0)
                except TimeoutError:
                    continue
                if not show(ev):
                    return 1
        elif a.cmd in ("change-password", "delete-account"):
            try:
                if a.cmd == "change-password":
                    c.change_password(a.password, a.new_password)
                    print("password changed", file=sys.stderr)
                else:
                    c.delete_account(a.password)
                    print("account deleted", file=sys.stderr)
                    c.conn.wait_closed(2.0)   # the relay closes the connection next
                    c.close()
                    return 0
            except AccountChangeFailed as e:
                print(f"refused: {e}", file=sys.stderr)
                return 1
        elif a.cmd == "chat":
            while True:
                # frames left from a batch are already read: do not block on the socket
                r, _, _ = select.select([sys.stdin, c.conn.sock], [], [], 0 if c.conn.queue else None)
                if c.conn.sock in r or c.conn.buf or c.conn.queue:
                    if not show(c.next_event(5)):
                        return 1
                    while c.pending:
                        show(c.pending.pop(0))
                if sys.stdin in r:
                    line = sys.stdin.readline()
                    if not line:
                        break
                    to, _, text = line.rstrip("\n").partition(" ")
                    try:
                        c.send_text(to, text)
                    except KeyError as e:
                        print(e, file=sys.stderr)
        c.bye()
    except (ConnectionClosed, ProtocolError, TimeoutError) as e:
        print(f"disconnected: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
