"""Which publishers a crawl run fetches, and from where (`newsarchive crawl --publisher
--base-url`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crawler.origins import normalize_base_url
from crawler.publishers import UnknownPublisher, publishers


def _check_known(names: Iterable[str], where: str) -> None:
    installed = publishers()
    for name in names:
        if name not in installed:
            raise UnknownPublisher(
                f"no publisher named {name!r} in {where} (installed: {', '.join(installed)})"
            )


def crawl_targets(
    chosen: Iterable[str] = (), base_urls: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The publishers a run crawls, each with the origin it is fetched from.

    With no base URL at all, every chosen publisher (default: every installed one) is fetched
    from its real site. With base URLs, the default is the publishers that have one (a crawl of
    mirrors must not reach a real site), and a chosen publisher without one is refused: give it
    NAME=its real origin to mean that. UnknownPublisher for a name no plug-in has, ValueError
    for the refusal.
    """
    base_urls = dict(base_urls or {})
    chosen = list(dict.fromkeys(name.strip().lower() for name in chosen))
    _check_known(base_urls, "--base-url")
    _check_known(chosen, "--publisher")
    installed = publishers()
    if not chosen:
        chosen = [name for name in installed if name in base_urls] if base_urls else [*installed]
    targets: dict[str, str] = {}
    for name in chosen:
        if name in base_urls:
            targets[name] = base_urls[name]
        elif base_urls:
            origin = installed[name].canonical_origin
            raise ValueError(
                f"no --base-url for {name} while {', '.join(base_urls)} have one: add"
                f" --base-url {name}=URL ({name}={origin} for its real site)"
            )
        else:
            targets[name] = normalize_base_url(installed[name].canonical_origin)
    return targets
