"""PAdES signing and checking of certificates with pyHanko: the PDF is
certified with the no-changes permission, so any later edit shows."""
from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import keys, pem, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .signing_key import SigningKey

REASON = "Framegate approval certificate {}"
REASON_ID = re.compile(r"^Framegate approval certificate ([0-9a-f]{32})$")


def _cert(cert_pem: bytes) -> x509.Certificate:
    return x509.Certificate.load(pem.unarmor(cert_pem)[2])


def sign(pdf: bytes, key: SigningKey, certificate_id: str) -> bytes:
    """Certify the PDF (no changes allowed after); the certificate id rides in the signed /Reason."""
    cert = _cert(key.cert_pem)
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=keys.PrivateKeyInfo.load(pem.unarmor(key.key_pem)[2]),
                                  cert_registry=SimpleCertificateStore.from_certs([cert]))
    meta = signers.PdfSignatureMetadata(field_name="FramegateApproval", certify=True,
                                        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
                                        subfilter=fields.SigSeedSubFilter.PADES,
                                        reason=REASON.format(certificate_id), name="Framegate")
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer)
    return out.getvalue()


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str
    certificate_id: str | None = None


def check(pdf: bytes, key: SigningKey) -> SignatureCheck:
    """Is this PDF signed by this installation and unchanged since? Says why not."""
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as err:  # a damaged file cannot be read at all
        return SignatureCheck(False, f"the PDF is damaged or edited: it cannot be read ({err.__class__.__name__})")
    if len(signatures) != 1:
        return SignatureCheck(False, f"the PDF carries {len(signatures)} signatures, not the one Framegate made")
    signature = signatures[0]
    match = REASON_ID.match(str(signature.sig_object.get("/Reason", "")))
    cert_id = match.group(1) if match else None
    try:
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=[_cert(key.cert_pem)]))
    except Exception as err:
        return SignatureCheck(False, f"the signature cannot be checked: the PDF was edited ({err})", cert_id)
    if not status.intact:
        return SignatureCheck(False, "the PDF was edited after it was signed (its content no longer matches the signature)", cert_id)
    if not status.valid or not status.trusted:
        return SignatureCheck(False, "the PDF is not signed by this installation's key", cert_id)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureCheck(False, "something was added to the PDF after it was signed", cert_id)
    if cert_id is None:
        return SignatureCheck(False, "the signature does not name a Framegate certificate id")
    return SignatureCheck(True, "signed by this installation and unchanged since", cert_id)
