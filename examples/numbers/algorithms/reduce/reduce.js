module.exports.start = args => {
    console.log('algorithm: reduce start');
    const input = args.input[0];
    // Initial value 0 (not in the seed): with data=0 the Multiply batch is empty, HKube skips it
    // and Reduce gets [], where a reduce() without an initial value would throw a TypeError.
    return input.reduce((acc, cur) => acc + cur, 0);
};
