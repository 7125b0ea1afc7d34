def start(args):
    # raises on the first attempt only (attempts counted in the file input[0])
    path = args["input"][0]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("attempt\n")
    with open(path, encoding="utf-8") as handle:
        attempts = len(handle.read().splitlines())
    if attempts == 1:
        raise RuntimeError("first attempt fails")
    return {"attempts": attempts}
