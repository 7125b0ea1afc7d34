def start(args):
    # Python `*`: a number is doubled, a string is repeated ("1" -> "11")
    return args['input'][0] * 2
