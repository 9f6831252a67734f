"""The installation's certificate-signing key and its self-signed certificate.

Created once, at first start, and kept in MongoDB (the first writer wins, so
two processes starting together end up with one key; it is never regenerated
while present). Production supplies its own key and certificate as PEM files
(FRAMEGATE_APPROVAL_SIGNING_KEY / FRAMEGATE_APPROVAL_SIGNING_CERT).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pymongo.database import Database

from services.common.mongo import insert_unique

KEY_ID = "installation"


@dataclass(frozen=True)
class SigningKey:
    key_pem: bytes
    cert_pem: bytes


def _self_signed(common_name: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Framegate installation")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=3650 * 3))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return SigningKey(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def signing_key(db: Database, public_url: str) -> SigningKey:
    """The configured key, else the stored one, else a new one stored for good."""
    key_file, cert_file = (os.environ.get("FRAMEGATE_APPROVAL_SIGNING_KEY"),
                           os.environ.get("FRAMEGATE_APPROVAL_SIGNING_CERT"))
    if key_file and cert_file:
        return SigningKey(Path(key_file).read_bytes(), Path(cert_file).read_bytes())
    found = db.approval_signing_keys.find_one({"_id": KEY_ID})
    if found is None:
        made = _self_signed(f"Framegate approvals at {public_url}")
        insert_unique(db.approval_signing_keys, {"_id": KEY_ID, "key_pem": made.key_pem.decode(),
                                                 "cert_pem": made.cert_pem.decode(),
                                                 "created_at": datetime.now(timezone.utc)})
        found = db.approval_signing_keys.find_one({"_id": KEY_ID})
    return SigningKey(found["key_pem"].encode(), found["cert_pem"].encode())
