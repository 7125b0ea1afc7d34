import os


def start(args):
    # input[0]: a file that gets one line per attempt; then the process dies
    with open(args["input"][0], "a", encoding="utf-8") as handle:
        handle.write("attempt\n")
        handle.flush()
    os._exit(9)
