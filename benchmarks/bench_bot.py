"""The bot's reply time end to end: from the moment the Bot API hands an update to the bot
(``getUpdates`` returns) to the moment the bot's reply arrives (``sendMessage``), over the real
python-telegram-bot client, a local Bot API server on loopback and the real service.

The service runs over a home where the main job has run (--home; the goal is stated for the
medium generated scale: ``vitrine run --scale medium --no-serve``). A linked seller and a linked
manager send each of their commands in turn, one at a time, for --rounds rounds (each round from
newly linked chats: one chat may send 12 messages a minute).

Goal: median reply time ≤ 300 ms.

Usage: python benchmarks/bench_bot.py --home DIR [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TODAY = "2026-10-31"  # the generated data's last day: the live figures replay it

SELLER_COMMANDS = ("/vendas", "/meta", "/comissao", "/margem", "/promocoes", "/sugestao shampoo, batom")
MANAGER_COMMANDS = ("/estoque", "/equipe", "/ranking", "/escala", "/relatorio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a home where `vitrine run` has run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["VITRINE_TODAY"] = TODAY

    from serving import auth
    from serving.api_client import VitrineApi
    from serving.bot.assistant import Assistant
    from serving.bot.chats import Chats
    from serving.bot.telegram import build_application
    from serving.live_figures import LiveFigures
    from tests.conftest import start, stop
    from tests.fake_telegram import TOKEN, BotThread, FakeBotApi
    from warehouse.settings import load_settings

    settings = load_settings(home=args.home, bot_check_seconds=3600)
    seller = LiveFigures(settings).published.frames["sellers"].iloc[0]
    seller_user, _ = auth.add_user(settings, "Bench Seller", "seller", store_id=seller.store_id, seller_id=seller.seller_id)
    manager_user, _ = auth.add_user(settings, "Bench Manager", "manager", store_id=seller.store_id)
    service, url = start(args.home)
    telegram = FakeBotApi()
    bot = BotThread(build_application(Assistant(settings, VitrineApi(url), Chats(settings)), TOKEN, telegram.url))
    try:
        times: dict[str, list[float]] = {}
        for round_ in range(args.rounds):
            for chat, user, commands in ((10 * round_ + 1, seller_user, SELLER_COMMANDS),
                                         (10 * round_ + 2, manager_user, MANAGER_COMMANDS)):
                telegram.say(chat, f"/start {auth.issue_link_code(settings, user.user_id, None)[0]}")
                sent = len(telegram.wait_for(chat, 2))
                for command in commands:
                    telegram.say(chat, command)
                    sent += 1
                    reply = telegram.wait_for(chat, sent, timeout=60)[-1]
                    times.setdefault(command.split()[0], []).append(reply.after_update_s * 1000)
    finally:
        bot.stop()
        telegram.close()
        stop(service)
    every = [t for values in times.values() for t in values]
    print(f"Home {args.home}; {args.rounds} rounds; {len(every)} replies; {os.cpu_count()} cores shared by service, "
          "bot and Bot API server.\n")
    for command, values in times.items():
        print(f"  {command:12s} median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")
    median = statistics.median(every)
    print(f"\nAll commands: median {median:.1f} ms, p90 {statistics.quantiles(every, n=10)[-1]:.1f} ms")
    print(f"Goal: median ≤ 300 ms → {'met' if median <= 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
