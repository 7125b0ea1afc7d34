import os
import time


def start(args):
    pid_file, seconds = args["input"]
    with open(pid_file, "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(float(seconds))
    return "woke up"
