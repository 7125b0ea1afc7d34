def start(args):
    # n -> [0, 1, ..., n-1]
    return list(range(args['input'][0]))
