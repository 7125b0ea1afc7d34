module.exports.start = args => {
    // input[0] is a list; its items are joined with '-' (["a", "b", 1] -> "a-b-1")
    return args.input[0].join('-');
};
