"""Objects the registry tests name in entry points: a working plug-in and broken ones."""

from __future__ import annotations

import dataclasses

from crawler.publishers.newsis import NEWSIS

# The same publisher under another path: a second plug-in claiming the name "newsis".
SECOND_NEWSIS = dataclasses.replace(NEWSIS)
RENAMED = dataclasses.replace(NEWSIS, name="agency")
NOT_A_PUBLISHER = {"name": "newsis"}
