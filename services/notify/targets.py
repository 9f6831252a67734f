"""Where messages may go: webhook and Slack URLs checked against SSRF, e-mail
addresses checked for shape. Checked when a subscription is made and again
before every delivery (a name can resolve elsewhere later)."""
from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

# Cloud metadata endpoints not already covered by link-local/private ranges.
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                      ipaddress.ip_address("100.100.100.200")}
EMAIL = re.compile(r"^[^@\s<>,;\"']+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class TargetRefused(ValueError):
    """A target we will not send to; `code` is stable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def address_refusal(ip: ipaddress._BaseAddress, allow: tuple) -> str | None:
    """Why this address is refused (None: allowed). The operator's allow list wins."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow if net.version == ip.version):
        return None
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for kind, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local), ("private", ip.is_private),
                       ("multicast", ip.is_multicast), ("reserved", ip.is_reserved),
                       ("unspecified", ip.is_unspecified)):
        if flag:
            return f"a {kind} address"
    if ip.version == 4 and ip in ipaddress.ip_network("100.64.0.0/10"):  # carrier-grade NAT: not the internet
        return "a shared (carrier-grade NAT) address"
    return None


def resolve(host: str, port: int) -> list[ipaddress._BaseAddress]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def check_url(url: str, allow: tuple, resolver=resolve) -> str:
    """The URL if every address its host resolves to may be reached; TargetRefused otherwise."""
    if not isinstance(url, str) or len(url) > 2048 or any(c in url for c in "\r\n\t "):
        raise TargetRefused("invalid_url", "The URL must be one line of at most 2048 characters, without spaces.")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("invalid_url", "The URL must start with https:// (or http://) and name a host.")
    if parts.username or parts.password:
        raise TargetRefused("invalid_url", "The URL must not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("invalid_url", "The URL's port is not a number from 1 to 65535.") from None
    try:
        addresses = resolver(parts.hostname, port)
    except (OSError, UnicodeError):
        raise TargetRefused("unresolvable_host", f"The host {parts.hostname!r} does not resolve.") from None
    for ip in addresses:
        why = address_refusal(ip, allow)
        if why:
            raise TargetRefused("target_not_allowed", (
                f"{parts.hostname} resolves to {ip}, {why}; notifications may not go there "
                "(an operator can allow a network with FRAMEGATE_NOTIFY_ALLOW)."))
    return url


def check_email(address: str) -> str:
    if not isinstance(address, str) or len(address) > 254 or not EMAIL.match(address.strip()):
        raise TargetRefused("invalid_email", "That is not an e-mail address (name@example.com).")
    return address.strip()
