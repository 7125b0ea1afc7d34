def start(args):
    # input[0]: a file that gets one line per attempt
    with open(args["input"][0], "a", encoding="utf-8") as handle:
        handle.write("attempt\n")
    raise ValueError("raiser says no")
