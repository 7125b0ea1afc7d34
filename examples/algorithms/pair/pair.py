def start(args):
    return [args['input'][0], args['input'][1]]
