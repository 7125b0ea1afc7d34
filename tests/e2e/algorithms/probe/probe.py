"""A test probe: input[0] is the item. A dict item may ask for side effects:
{"sleep": seconds, "append": path, "raise": message, "crash": true, "value": result}.
"append" adds a line "<nodeName> <batchIndex>" to the file after sleeping (so a line
means the algorithm finished). The result is item["value"] when given, else the item."""

import os
import time


def start(args):
    item = args["input"][0]
    if not isinstance(item, dict):
        return item
    if item.get("sleep"):
        time.sleep(item["sleep"])
    if item.get("append"):
        with open(item["append"], "a", encoding="utf-8") as handle:
            handle.write(f"{args['nodeName']} {args['batchIndex']}\n")
    if item.get("crash"):
        os._exit(9)
    if item.get("raise"):
        raise RuntimeError(item["raise"])
    return item.get("value", item)
