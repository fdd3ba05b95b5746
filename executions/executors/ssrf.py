"""Refuses requests to addresses a workflow author should not reach from the server.

Every address that is not globally routable is refused - loopback, private, link-local
(which includes cloud metadata at 169.254.169.254), shared (100.64.0.0/10, where Alibaba
Cloud's metadata lives), multicast, reserved, unspecified - unless the host name or the address
is allowed by ``MBFLOW_HTTP_ALLOW_HOSTS`` (host names, IPs or CIDRs). Every address a name
resolves to is checked, every redirect hop is checked again before it is followed, and the
HTTP client connects only to the addresses it checked (``allowed_addresses``), so a name that
resolves differently the second time (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from django.conf import settings

from executions.executors.base import PermanentError

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(PermanentError):
    code = "ssrf_blocked"


@lru_cache(maxsize=32)
def _allow_list(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return frozenset(hosts), tuple(networks)


def _forbidden(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _forbidden(address.ipv4_mapped)
    return (
        not address.is_global or address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PermanentError(f"Cannot resolve host {host!r}: {exc}", code="dns_error") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def allowed_addresses(host: str, port: int) -> list[IPAddress] | None:
    """The addresses of ``host`` a request may connect to, or None when the host is allowed by
    name (connect by name). Raises ``BlockedAddress`` when any address it resolves to is refused."""
    host = host.lower().rstrip(".").strip("[]")
    allowed_hosts, allowed_networks = _allow_list(tuple(settings.MBFLOW_HTTP_ALLOW_HOSTS))
    if host in allowed_hosts:
        return None
    if host in METADATA_HOSTS:
        raise BlockedAddress(f"Requests to {host!r} are not allowed.")
    addresses = resolve(host, port)
    for address in addresses:
        if any(address in network for network in allowed_networks):
            continue
        if _forbidden(address):
            # The message is for whoever reads the run; how to allow the address is the operator's
            # business, in details.operator_hint, which the API shows to admins only.
            raise BlockedAddress(
                f"Requests to {host} ({address}) are refused: it is a private, loopback, link-local or "
                "reserved address. Ask an administrator if this service should be reachable.",
                details={"host": host, "address": str(address),
                         "operator_hint": "Allow it with the server setting MBFLOW_HTTP_ALLOW_HOSTS "
                                          "(host names, IPs or CIDRs)."},
            )
    return addresses


def check_host(host: str, port: int) -> None:
    allowed_addresses(host, port)
