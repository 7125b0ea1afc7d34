def start(args):
    # the whole resolved input list, unchanged
    return args["input"]
