"""Small multi-source texts written for the line tests: several outlets reporting the same
figures as they move over time, in different words, with figures about other things."""

from __future__ import annotations

import datetime

# (source name, published, text); the figure for containers of weapons sent from North
# Korea to Russia moves 1,000 -> 6,700 -> 7,000 -> 10,000 -> 13,000.
CONTAINERS = [
    (
        "wire-2023-10-13",
        datetime.date(2023, 10, 13),
        "North Korea has sent more than 1,000 containers of military equipment and munitions "
        "to Russia, the White House said on Friday. National Security Council spokesman John "
        "Kirby told reporters the shipments began in early September. Russia has also sent "
        "about 500 containers of food to North Korea, Kirby said.",
    ),
    (
        "daily-2024-02-27",
        datetime.date(2024, 2, 27),
        "South Korean Defence Minister Shin Won-sik said on Monday that Pyongyang had shipped "
        "around 6,700 containers of arms to Moscow since September. The containers could hold "
        "more than 3 million artillery shells, Shin told reporters.",
    ),
    (
        "seed-2024-03-20",
        datetime.date(2024, 3, 20),
        "South Korea's defense minister announced on Monday that North Korea has dispatched "
        "approximately 7,000 containers of weapons to Russia. Shin Won-shik spoke at a press "
        "conference in Seoul.",
    ),
    (
        "herald-2024-06-10",
        datetime.date(2024, 6, 10),
        "About 10,000 containers of weapons have been transferred from North Korea to Russia, "
        "according to South Korea's Defense Ministry. Exports of South Korean chips rose 12 "
        "percent in May, the Ministry of Trade said.",
    ),
    (
        "times-2024-10-07",
        datetime.date(2024, 10, 7),
        "Shin Won-sik, the South Korean defense minister, said on Monday that North Korea had "
        "delivered 13,000 containers of munitions to Russia. He also said North Korea had sent "
        "troops to Russia.",
    ),
]
